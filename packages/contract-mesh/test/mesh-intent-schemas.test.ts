/** The mesh contract's intent schemas: the shapes they accept, and what they say about the rest. */
import { describe, expect, it } from 'vitest';
import { meshMemberIntentSchema, sklookupPodIntentSchema } from '../src/index.js';

describe('mesh intent schemas', () => {
  it('accept the documented shapes', () => {
    expect(meshMemberIntentSchema.safeParse({ address: 'fd00::1' }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netnsHandle: 'h:7', addresses: ['10.0.0.1'], socketHandles: ['h:12'] }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netns: 'pod1', addresses: ['10.0.0.1', 'fd00::1'] }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netns: '/var/run/netns/pod1', addresses: ['10.0.0.1'], socketHandles: ['h:12', 'h:13'] }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netnsHandle: 'h:1', addresses: ['10.0.0.1'], socketHandles: [] }).success).toBe(true);
  });
  it.each([
    [meshMemberIntentSchema, { address: '10.0.0.1/24' }, /not an IP address/],
    [meshMemberIntentSchema, { address: '10.0.0.1', port: 1 }, /port/],
    [sklookupPodIntentSchema, { uid: 'u', netns: '', addresses: ['10.0.0.1'] }, /netns/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: [] }, /at least one address/],
    [sklookupPodIntentSchema, { uid: '', netns: 'n', addresses: ['10.0.0.1'] }, /uid must be a non-empty/],
    [sklookupPodIntentSchema, { uid: 'a\nb', netns: 'n', addresses: ['10.0.0.1'] }, /uid: pod uid "a\\nb" contains control characters/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.x'] }, /addresses.0: address "10.0.0.x" is not an IP address/],
    // handles, not fd numbers
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketFds: [12] }, /socketFds/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketFd: 12 }, /socketFd/],
    [sklookupPodIntentSchema, { uid: 'u', netns: '/proc/self/fd/7', addresses: ['10.0.0.1'] }, /netns: an fd path is not stable; .*netnsHandle/],
    [sklookupPodIntentSchema, { uid: 'u', netnsHandle: '7', addresses: ['10.0.0.1'] }, /netnsHandle: a socket handle looks like "h:<n>"/],
    [sklookupPodIntentSchema, { uid: 'u', netnsHandle: 'h:0', addresses: ['10.0.0.1'] }, /h:<n>/],
    [sklookupPodIntentSchema, { uid: 'u', addresses: ['10.0.0.1'] }, /netnsHandle: give the pod network namespace as netnsHandle .* or netns/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', netnsHandle: 'h:1', addresses: ['10.0.0.1'] }, /exactly one of them/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketHandles: [12] }, /socketHandles.0/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketHandles: ['h:1', 'h:2', 'h:3'] }, /at most 2 listeners/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketHandles: ['h:1', 'h:1'] }, /each handle may be listed once/],
  ])('reject %j', (schema, value, why) => {
    const r = schema.safeParse(value);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toMatch(why);
  });
});
