import { describe, expect, it } from 'vitest';
import { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
import { sklookupConfigSchema, sklookupPlugin } from '../src/sklookup-plugin.js';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('sklookupPlugin factory', () => {
  it('declares its id, intent kinds and kernel needs', () => {
    expect(sklookupPlugin.id).toBe('sklookup');
    expect(Object.keys(sklookupPlugin.intents)).toEqual([MESH_MEMBER_KIND, SKLOOKUP_POD_KIND]);
    expect(sklookupPlugin.requires).toEqual(['bpffs', 'sk_lookup', 'sockhash']);
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
