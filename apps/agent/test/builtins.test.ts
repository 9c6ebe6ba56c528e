/**
 * The built-in parts are loaded by the config: a process composing a ziti-only agent imports
 * neither source-istiod (gRPC, the kubernetes client) nor the plugins it does not run, and a
 * plugin's light entry none of its dataplane (core-bpf, koffi). Checked on the built packages
 * (nx's test target depends on the build), in a fresh Node process that records every module it loads.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const indexUrl = new URL('../dist/index.js', import.meta.url).href;

/** The URLs of every module a fresh Node process loads for `code` (an ES module body). */
function modulesLoadedBy(code: string): string[] {
  const script = [
    "import { registerHooks } from 'node:module';",
    'const loaded = [];',
    'registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });',
    code,
    'process.stdout.write(JSON.stringify(loaded));',
  ].join('\n');
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`node exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout) as string[];
}

const ziti = {
  plugins: [{ id: 'tc-tproxy', interfaces: [{ name: 'lo' }] }],
  sources: [{ type: 'ziti', socket: '/run/x.sock' }],
};

describe('built-in plugins and sources', () => {
  it('loads only what a ziti-only config selects', () => {
    const loaded = modulesLoadedBy(
      `const { builtinFactoriesFor } = await import(${JSON.stringify(indexUrl)});\n` +
        `const f = await builtinFactoriesFor(${JSON.stringify(ziti)});\n` +
        `if (f.plugins.map((p) => p.id).join() !== 'tc-tproxy' || f.sources.map((s) => s.type).join() !== 'ziti') throw new Error('wrong factories');`,
    );
    expect(loaded.some((u) => u.includes('/source-ziti/'))).toBe(true);
    expect(loaded.some((u) => u.includes('/plugin-tc-tproxy/dist/tc-tproxy-entry.js'))).toBe(true);
    for (const absent of ['/source-istiod/', '@grpc', '@kubernetes', '/plugin-sklookup/', '/plugin-cgroup-mark/', '/plugin-tc-nexthop/', '/plugin-connect-redirect/', '/packages/tunnel/', 'tc-tproxy-plugin.js']) {
      expect(loaded.filter((u) => u.includes(absent)), absent).toEqual([]);
    }
  });

  it('loads every built-in when the config names one that is not built in (the error lists them all)', async () => {
    const { builtinFactoriesFor } = (await import(indexUrl)) as typeof import('../src/index.js');
    const f = await builtinFactoriesFor({ plugins: [{ id: 'tc-tprox' }], sources: [{ type: 'zitii' }] });
    expect(f.plugins.map((p) => p.id)).toEqual(['tc-nexthop', 'tc-tproxy', 'sklookup', 'cgroup-mark', 'connect-redirect']);
    expect(f.sources.map((s) => s.type)).toEqual(['static', 'ziti', 'istiod', 'tunnel']);
    // a list the config leaves out loads nothing
    expect((await builtinFactoriesFor({ plugins: [{ id: 'tc-tprox' }] })).sources).toEqual([]);
  });

  it.each([
    ['tc-tproxy', 'tc-tproxy-plugin.js'],
    ['tc-nexthop', 'tc-nexthop-plugin.js'],
    ['connect-redirect', 'connect-redirect-plugin.js'],
  ])("%s's light entry imports none of its dataplane", (plugin, implementation) => {
    const loaded = modulesLoadedBy(`await import('@bpfsteer/plugin-${plugin}/entry');`);
    expect(loaded.some((u) => u.endsWith(`/plugin-${plugin}/dist/${plugin}-entry.js`))).toBe(true);
    for (const absent of ['/core-bpf/', 'koffi', implementation, `/plugin-${plugin}/dist/index.js`]) {
      expect(loaded.filter((u) => u.includes(absent)), absent).toEqual([]);
    }
  });
});
