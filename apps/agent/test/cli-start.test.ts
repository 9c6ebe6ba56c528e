/**
 * What the built `bpfsteer` loads for the commands that do little (issue 14, "CLI start"; the times
 * are bench/cli-start's): `--help`, `--version` and a command's `--help` nothing but commander and
 * the CLI's own chunks; `validate` agent-kernel's light `/config` entry (zod, yaml), not its main
 * entry (inversify, pino, the agent), unless a selected plugin or source loads it. Checked on the
 * built app (run `npx tsup` in apps/agent first; nx's test target depends on the build), in a
 * fresh Node process that records every module it resolves.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin } from './support/spawn-bpfsteer.js';

// resolves every module through a hook that lists them; the list goes to fd 3 at exit
const recorder = `data:text/javascript,${encodeURIComponent(
  [
    "import { registerHooks } from 'node:module';",
    "import { writeSync } from 'node:fs';",
    'const loaded = [];',
    'registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });',
    "process.on('exit', () => writeSync(3, JSON.stringify(loaded)));",
  ].join('\n'),
)}`;

/** The URLs of every module `bpfsteer ...args` loads; throws unless it exits `code`. */
function modulesLoadedBy(args: string[], code = 0): string[] {
  const child = spawnSync(process.execPath, ['--import', recorder, bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
  });
  if (child.status !== code) throw new Error(`bpfsteer ${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.output[3] as string) as string[];
}

const dist = pathToFileURL(join(bin, '..')).href + '/';
const appPackageJson = pathToFileURL(fileURLToPath(new URL('../package.json', import.meta.url))).href;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-cli-start-test-${process.pid}-`));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bpfsteer start', () => {
  it.each([[['--help']], [['--version']], [['run', '--help']], [['validate', '--help']], [['manifests', 'ambient', '--help']]])(
    '%j loads commander and the command declarations, nothing else',
    (args) => {
      const loaded = modulesLoadedBy(args);
      const other = loaded.filter(
        (u) => !u.startsWith('node:') && !u.startsWith(dist) && !/\/node_modules\/commander\//.test(u) && u !== appPackageJson,
      );
      expect(other).toEqual([]);
      expect(loaded.some((u) => u.includes('/node_modules/commander/'))).toBe(true);
    },
  );

  it('validate reads the config with agent-kernel/config, without its main entry (inversify, pino)', async () => {
    const path = join(dir, 'static.yaml');
    await writeFile(path, 'agent: { logLevel: debug }\nsources: [{ type: static }]\n');
    const loaded = modulesLoadedBy(['validate', '-c', path]);
    expect(loaded.some((u) => u.endsWith('/agent-kernel/dist/config-entry.js'))).toBe(true);
    for (const absent of ['/agent-kernel/dist/index.js', '/inversify', '/pino', '/reflect-metadata', '/core-bpf/', '/plugin-', '/source-']) {
      expect(loaded.filter((u) => u.includes(absent)), absent).toEqual([]);
    }
  });

  it('an invalid config still lists every problem (exit 1)', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'agent: { logLevel: loud }\n');
    const loaded = modulesLoadedBy(['validate', '-c', path], 1);
    expect(loaded.filter((u) => u.includes('/agent-kernel/dist/index.js'))).toEqual([]);
  });
});
