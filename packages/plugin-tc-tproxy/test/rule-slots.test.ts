/** RuleSlots: the tracked tctp_rules slots in typed arrays. */
import { describe, expect, it } from 'vitest';
import { RuleSlots } from '../src/rule-slots.js';

describe('RuleSlots', () => {
  it('holds, replaces and empties slots by rule id, counting the non-empty ones', () => {
    const slots = new RuleSlots(4);
    expect(slots.length).toBe(5);
    expect(slots.get(1)).toBeUndefined();
    slots.set(1, { action: 1, tproxyPort: 15000, identity: 0xfedcba9876543210n });
    slots.set(4, { action: 3, tproxyPort: 0, identity: 1n });
    slots.set(4, { action: 2, tproxyPort: 0, identity: 2n }); // replaced: still one slot
    expect(slots.count).toBe(2);
    expect(slots.get(1)).toEqual({ action: 1, tproxyPort: 15000, identity: 0xfedcba9876543210n });
    expect(slots.get(4)).toEqual({ action: 2, tproxyPort: 0, identity: 2n });
    expect([slots.has(1), slots.has(2), slots.has(4), slots.has(5)]).toEqual([true, false, true, false]);
    slots.delete(1);
    slots.delete(1); // (already empty)
    expect(slots.get(1)).toBeUndefined();
    expect(slots.count).toBe(1);
  });

  it('refuses a rule id outside 1..maxRules and an empty or wide action (a typed array would drop them silently)', () => {
    const slots = new RuleSlots(4);
    expect(() => slots.set(0, { action: 1, tproxyPort: 1, identity: 1n })).toThrow(/rule id 0 is outside 1\.\.4/);
    expect(() => slots.set(5, { action: 1, tproxyPort: 1, identity: 1n })).toThrow(/rule id 5/);
    expect(() => slots.set(1, { action: 0, tproxyPort: 1, identity: 1n })).toThrow(/action 0/);
    expect(() => slots.set(1, { action: 256, tproxyPort: 1, identity: 1n })).toThrow(/action 256/);
    expect(slots.count).toBe(0);
  });
});
