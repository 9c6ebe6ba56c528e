/**
 * `validate` checks a config against the built-in factories without a container
 * (builtin-factories.ts); `run` composes the agent from the modules of the same factories
 * (builtins.ts). Each package's own container module (what an agent composed in code uses) must
 * contribute exactly that factory, so the CLI and a composed agent run the same parts.
 */
import { describe, expect, it } from 'vitest';
import { type ContainerModule, contributedFactories, staticSourceModule } from '@bpfsteer/agent-kernel';
import { builtinPluginFactories, builtinSourceFactories } from '../src/builtin-factories.js';
import { builtinModulesFor } from '../src/builtins.js';

const packageModules: Record<string, () => Promise<ContainerModule>> = {
  'tc-nexthop': async () => (await import('@bpfsteer/plugin-tc-nexthop/module')).tcNexthopModule,
  'tc-tproxy': async () => (await import('@bpfsteer/plugin-tc-tproxy/module')).tcTproxyModule,
  sklookup: async () => (await import('@bpfsteer/plugin-sklookup/module')).sklookupModule,
  'cgroup-mark': async () => (await import('@bpfsteer/plugin-cgroup-mark/module')).cgroupMarkModule,
  'connect-redirect': async () => (await import('@bpfsteer/plugin-connect-redirect/module')).connectRedirectModule,
  static: async () => staticSourceModule(),
  ziti: async () => (await import('@bpfsteer/source-ziti')).zitiSourceModule,
  istiod: async () => (await import('@bpfsteer/source-istiod')).istiodSourceModule,
  tunnel: async () => (await import('@bpfsteer/tunnel')).tunnelSourceModule,
};

describe('built-in factories and the packages\' modules', () => {
  it('every built-in part has its package module here', () => {
    expect(Object.keys(packageModules).sort()).toEqual([...Object.keys(builtinPluginFactories), ...Object.keys(builtinSourceFactories)].sort());
  });

  it.each(Object.keys(builtinPluginFactories))('plugin %s: its package module contributes exactly its factory', async (id) => {
    const contributed = contributedFactories(await packageModules[id]!());
    expect(contributed.sources).toEqual([]);
    expect(contributed.plugins).toEqual([await builtinPluginFactories[id]!()]);
    expect(contributed.plugins[0]!.id).toBe(id);
  });

  it.each(Object.keys(builtinSourceFactories))('source %s: its package module contributes exactly its factory', async (type) => {
    const contributed = contributedFactories(await packageModules[type]!());
    expect(contributed.plugins).toEqual([]);
    expect(contributed.sources).toEqual([await builtinSourceFactories[type]!()]);
    expect(contributed.sources[0]!.type).toBe(type);
  });

  it('run composes the modules of the parts a config selects', async () => {
    const modules = await builtinModulesFor({ plugins: [{ id: 'tc-tproxy' }], sources: [{ type: 'ziti' }] });
    const contributed = contributedFactories(...modules);
    expect(contributed.plugins.map((p) => p.id)).toEqual(['tc-tproxy']);
    expect(contributed.sources.map((s) => s.type)).toEqual(['ziti']);
  });
});
