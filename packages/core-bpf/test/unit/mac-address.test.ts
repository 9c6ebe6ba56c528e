import { describe, expect, it } from 'vitest';
import { formatMac, parseMac } from '../../src/codec/mac-address.js';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);

describe('mac addresses', () => {
  it('parses and formats MAC addresses and rejects bad ones', () => {
    expect(hex(parseMac('02:00:0A:0b:0c:ff'))).toBe('02000a0b0cff');
    expect(hex(parseMac('02-00-0a-0b-0c-ff'))).toBe('02000a0b0cff');
    expect(parseMac('02:00-0a:0b:0c:ff')).toBeUndefined();
    expect(parseMac('02:00:0a:0b:0c')).toBeUndefined();
    expect(formatMac(Buffer.from('02000a0b0cff', 'hex'))).toBe('02:00:0a:0b:0c:ff');
  });
});
