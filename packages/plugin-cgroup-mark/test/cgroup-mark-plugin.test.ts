import { describe, expect, it } from 'vitest';
import { MESH_BYPASS_MAP } from '@bpfsteer/contract-mesh';
import { cgroupMarkConfigSchema } from '../src/cgroup-mark-config.js';
import { cgroupMarkPlugin } from '../src/cgroup-mark-plugin.js';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('cgroupMarkPlugin factory', () => {
  it('declares its id, no intents and its kernel needs', () => {
    expect(cgroupMarkPlugin.id).toBe('cgroup-mark');
    expect(cgroupMarkPlugin.intents).toEqual({});
    expect(cgroupMarkPlugin.requires).toEqual(['bpffs', 'cgroup2', 'cgroup_skb']);
  });

  it("provides its mesh_bypass map (pin and size) under contract-mesh's MESH_BYPASS_MAP token", () => {
    const provide = cgroupMarkPlugin.provides![MESH_BYPASS_MAP]!;
    const config = cgroupMarkConfigSchema.parse({ cgroup: 'zt', bypassEntries: 1024 });
    expect(provide(config, '/sys/fs/bpf/b/cgroup-mark')).toEqual({ pinPath: '/sys/fs/bpf/b/cgroup-mark/maps/mesh_bypass', entries: 1024 });
    expect(provide({ ...config, bypassMapPin: '/sys/fs/bpf/shared' }, '/x')).toEqual({ pinPath: '/sys/fs/bpf/shared', entries: 1024 });
    expect(Object.keys(cgroupMarkPlugin.provides!)).toEqual([]); // by token only, never by a string
  });
});

describe('config schema', () => {
  it('fills the defaults', () => {
    expect(cgroupMarkConfigSchema.parse({ cgroup: 'kubepods/ztunnel' })).toEqual({
      cgroup: 'kubepods/ztunnel',
      mark: 'ambient-inpod',
      localOnly: true,
      bypassEntries: 65536,
    });
  });
  it.each([
    { cgroup: { pid: 42 }, mark: 'ambient-legacy-connskip' },
    { cgroup: { process: 'ztunnel' }, mark: '0x539/0xfff', localOnly: false, bypassEntries: 1024, bypassMapPin: '/sys/fs/bpf/x/mesh_bypass' },
    { cgroup: '/sys/fs/cgroup/zt', mark: { value: 1337, mask: '0xfff' } },
  ])('accepts %j', (config) => {
    expect(cgroupMarkConfigSchema.safeParse(config).success).toBe(true);
  });
  it.each([
    [{}, /cgroup/],
    [{ cgroup: '' }, /cgroup/],
    [{ cgroup: { pid: -1 } }, /cgroup/],
    [{ cgroup: 'a', mark: 'ambient-foo' }, /mark: mark "ambient-foo": expected a preset/],
    [{ cgroup: 'a', mark: '0x1539/0xfff' }, /bits outside mask/],
    [{ cgroup: 'a', mark: { value: 1, mask: 0 } }, /mask 0/],
    [{ cgroup: 'a', bypassEntries: 0 }, /bypassEntries/],
    [{ cgroup: 'a', bypassMapPin: 'rel/path' }, /absolute path/],
    [{ cgroup: 'a', marks: 1 }, /marks/],
  ])('rejects %j', (config, why) => {
    const r = cgroupMarkConfigSchema.safeParse(config);
    expect(r.success).toBe(false);
    expect(messages(r).join('\n')).toMatch(why);
  });
});
