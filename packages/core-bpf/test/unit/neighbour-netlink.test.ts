// rtnetlink encoding/decoding of neighbour requests and replies (pure functions, no kernel).
import { describe, expect, it } from 'vitest';
import { decodeAttrs, decodeError, decodeMessages, encodeAttr, encodeMessage, u32Attr, u8Attr } from '../../src/rtnetlink.js';
import { decodeNeighbour, encodeNdmsg, neighbourStateName } from '../../src/neighbours.js';

describe('rtnetlink encoding', () => {
  it('pads attributes to 4 bytes and writes their real length', () => {
    expect([...u8Attr(12, 0xb5)]).toEqual([5, 0, 12, 0, 0xb5, 0, 0, 0]);
    expect([...u32Attr(15, 1)]).toEqual([8, 0, 15, 0, 1, 0, 0, 0]);
    expect([...encodeAttr(1, Uint8Array.of(10, 9, 0, 2))]).toEqual([8, 0, 1, 0, 10, 9, 0, 2]);
  });

  it('builds the same RTM_NEWNEIGH bytes as `ip neigh replace 10.9.0.2 dev IF3 managed protocol 250`', () => {
    const msg = encodeMessage(28, 0x505, 7, encodeNdmsg(4, 3, 0, 0), [
      u8Attr(12, 250),
      encodeAttr(1, Uint8Array.of(10, 9, 0, 2)),
      u32Attr(15, 1),
    ]);
    expect(msg.length).toBe(52);
    expect(msg.readUInt32LE(0)).toBe(52);
    expect(msg.subarray(16).toString('hex')).toBe('020000000300000000000000' + '05000c00fa000000' + '080001000a090002' + '08000f0001000000');
    const [back] = decodeMessages(msg);
    expect(back).toMatchObject({ type: 28, flags: 0x505, seq: 7 });
    expect(decodeAttrs(back.payload.subarray(12)).map((a) => a.type)).toEqual([12, 1, 15]);
  });

  it('decodes an error reply with the extended-ack text', () => {
    const err = Buffer.alloc(4 + 16);
    err.writeInt32LE(-13, 0);
    err.writeUInt32LE(52, 4);
    const tlv = encodeAttr(1, Buffer.from('IPv6 is disabled on this device\0'));
    const [msg] = decodeMessages(encodeMessage(2, 0x100 | 0x200, 1, Buffer.concat([err, tlv])));
    expect(decodeError(msg)).toEqual({ errno: 13, text: 'IPv6 is disabled on this device' });
    const [ack] = decodeMessages(encodeMessage(2, 0x100, 1, Buffer.alloc(20)));
    expect(decodeError(ack)).toEqual({ errno: 0 });
  });

  it('decodes a neighbour reply', () => {
    const payload = Buffer.concat([
      encodeNdmsg(6, 4, 0x02, 0),
      encodeAttr(1, Uint8Array.from([0xfd, 0, 2, 0x21, ...new Array(11).fill(0), 0x21])),
      encodeAttr(2, Uint8Array.of(2, 0, 0, 0, 0, 9)),
      u8Attr(12, 0xb5),
      u32Attr(15, 1),
    ]);
    expect(decodeNeighbour({ payload }, (i) => `if${i}`)).toEqual({
      ifname: 'if4',
      ifindex: 4,
      address: 'fd00:221::21',
      lladdr: '02:00:00:00:00:09',
      state: 'reachable',
      managed: true,
      protocol: 0xb5,
    });
    expect(decodeNeighbour({ payload: Buffer.alloc(12) }, () => undefined)).toBeUndefined(); // AF_UNSPEC
  });

  it.each([
    [0, 'none'],
    [0x01, 'incomplete'],
    [0x02, 'reachable'],
    [0x04, 'stale'],
    [0x20, 'failed'],
    [0x40, 'noarp'],
    [0x80, 'permanent'],
  ] as const)('names state %i %s', (state, name) => {
    expect(neighbourStateName(state)).toBe(name);
  });
});
