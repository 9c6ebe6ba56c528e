import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '@bpfsteer/agent-kernel';
import { MESH_BYPASS_MAP, MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
import { sklookupConfigSchema } from '../src/sklookup-config.js';
import { sklookupPlugin } from '../src/sklookup-plugin.js';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('sklookupPlugin factory', () => {
  it('declares its id, intent kinds and kernel needs', () => {
    expect(sklookupPlugin.id).toBe('sklookup');
    expect(Object.keys(sklookupPlugin.intents)).toEqual([MESH_MEMBER_KIND, SKLOOKUP_POD_KIND]);
    expect(sklookupPlugin.requires).toEqual(['bpffs', 'sk_lookup', 'sockhash']);
  });

  it("needs contract-mesh's MESH_BYPASS_MAP token (optional) and takes the provided map by it", () => {
    expect(sklookupPlugin.needs![MESH_BYPASS_MAP]).toMatchObject({ optional: true });
    expect(Object.keys(sklookupPlugin.needs!)).toEqual([]); // by token only, never by a string
    const warn = vi.fn();
    const logger = { warn, info: vi.fn(), debug: vi.fn(), error: vi.fn() } as unknown as Logger;
    const provided = new Map([[MESH_BYPASS_MAP, { pinPath: '/sys/fs/bpf/b/cgroup-mark/maps/mesh_bypass', entries: 1024 }]]);
    sklookupPlugin.create({ bypassMapPin: '/sys/fs/bpf/other' }, { logger, pinRoot: '/sys/fs/bpf/b/sklookup', signal: new AbortController().signal, provided });
    expect(warn).toHaveBeenCalledWith(
      { configured: '/sys/fs/bpf/other', cgroupMark: '/sys/fs/bpf/b/cgroup-mark/maps/mesh_bypass' },
      "bypassMapPin differs from plugin-cgroup-mark's map; using cgroup-mark's",
    );
  });
});

describe('config schema', () => {
  it('fills the defaults', () => {
    expect(sklookupConfigSchema.parse({})).toEqual({
      skipPorts: [],
      maxMembers: 65536,
      maxPods: 1024,
      maxPodAddresses: 4096,
      bypassTtlMs: 5000,
      bypassEntries: 65536,
    });
  });
  it.each([
    [{ skipPorts: [0] }, /skipPorts/],
    [{ skipPorts: [15053, 15053] }, /listed once/],
    [{ maxPods: 0 }, /maxPods/],
    [{ maxPods: 70000 }, /maxPods/],
    [{ bypassTtlMs: 0 }, /bypassTtlMs/],
    [{ bypassMapPin: 'x' }, /absolute path/],
    [{ skip: [] }, /skip/],
  ])('rejects %j', (config, why) => {
    const r = sklookupConfigSchema.safeParse(config);
    expect(r.success).toBe(false);
    expect(messages(r).join('\n')).toMatch(why);
  });
});
