/** The mesh contract's intent schemas: the shapes they accept, and what they say about the rest. */
import { describe, expect, it } from 'vitest';
import { meshMemberIntentSchema, sklookupPodIntentSchema } from '../src/index.js';

describe('mesh intent schemas', () => {
  it('accept the documented shapes', () => {
    expect(meshMemberIntentSchema.safeParse({ address: 'fd00::1' }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netns: '/proc/1/fd/7', addresses: ['10.0.0.1'], socketFd: 12 }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netns: 'pod1', addresses: ['10.0.0.1', 'fd00::1'] }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netns: 'pod1', addresses: ['10.0.0.1'], socketFds: [12, 13] }).success).toBe(true);
    expect(sklookupPodIntentSchema.safeParse({ uid: 'u', netns: 'pod1', addresses: ['10.0.0.1'], socketFds: [] }).success).toBe(true);
  });
  it.each([
    [meshMemberIntentSchema, { address: '10.0.0.1/24' }, /not an IP address/],
    [meshMemberIntentSchema, { address: '10.0.0.1', port: 1 }, /port/],
    [sklookupPodIntentSchema, { uid: 'u', netns: '', addresses: ['10.0.0.1'] }, /netns/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: [] }, /at least one address/],
    [sklookupPodIntentSchema, { uid: '', netns: 'n', addresses: ['10.0.0.1'] }, /uid must be a non-empty/],
    [sklookupPodIntentSchema, { uid: 'a\nb', netns: 'n', addresses: ['10.0.0.1'] }, /uid: pod uid "a\\nb" contains control characters/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.x'] }, /addresses.0: address "10.0.0.x" is not an IP address/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketFd: 1.5 }, /socketFd|integer/i],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketFds: [1, 2, 3] }, /at most 2 listeners/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketFds: [1, 1] }, /each fd may be listed once/],
    [sklookupPodIntentSchema, { uid: 'u', netns: 'n', addresses: ['10.0.0.1'], socketFds: [1], socketFd: 2 }, /not both/],
  ])('reject %j', (schema, value, why) => {
    const r = schema.safeParse(value);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toMatch(why);
  });
});
