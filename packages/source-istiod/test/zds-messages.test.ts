// ZDS message checks (pure): what the proxy relays, what it answers itself with an Ack error.
import { describe, expect, it } from 'vitest';
import { checkHello, checkRequest, checkResponse, describeRequest } from '../src/zds/zds-messages.js';
import { loadZdsProtos } from '../src/zds/zds-protos.js';

const codec = loadZdsProtos();
const add = codec.encodeRequest({ add: { uid: 'uid-1', workload_info: { name: 'web', namespace: 'shop', service_account: 'sa' } } });

describe('the ZDS protos', () => {
  it('have the public field numbers (wire bytes)', () => {
    expect(codec.encodeHello({ version: 'V1' })).toEqual(Buffer.from([0x08, 0x01]));
    expect(codec.encodeRequest({ snapshot_sent: {} })).toEqual(Buffer.from([0x1a, 0x00]));
    expect(codec.encodeRequest({ del: { uid: 'u' } })).toEqual(Buffer.from([0x12, 0x03, 0x12, 0x01, 0x75])); // del=2{uid=2}
    expect(codec.encodeRequest({ keep: { uid: 'u' } })).toEqual(Buffer.from([0x2a, 0x03, 0x0a, 0x01, 0x75])); // keep=5{uid=1}
    expect(codec.encodeResponse({ ack: {} })).toEqual(Buffer.from([0x0a, 0x00]));
    expect(codec.encodeResponse({ ack: { error: 'x' } })).toEqual(Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x78]));
    // add=1{uid=1, workload_info=2{name=1, namespace=2, service_account=3}}
    expect(add.toString('hex')).toBe(
      Buffer.concat([
        Buffer.from([0x0a, 0x18, 0x0a, 0x05]),
        Buffer.from('uid-1'),
        Buffer.from([0x12, 0x0f, 0x0a, 0x03]),
        Buffer.from('web'),
        Buffer.from([0x12, 0x04]),
        Buffer.from('shop'),
        Buffer.from([0x1a, 0x02]),
        Buffer.from('sa'),
      ]).toString('hex'),
    );
  });
});

describe('checkRequest', () => {
  it('accepts each request kind with the right fd count', () => {
    expect(checkRequest(codec, { payload: add, fdCount: 1 })).toEqual({
      ok: true,
      value: { kind: 'add', uid: 'uid-1', name: 'web', namespace: 'shop', serviceAccount: 'sa' },
    });
    expect(checkRequest(codec, { payload: codec.encodeRequest({ del: { uid: 'u' } }), fdCount: 0 })).toEqual({ ok: true, value: { kind: 'del', uid: 'u' } });
    expect(checkRequest(codec, { payload: codec.encodeRequest({ keep: { uid: 'u' } }), fdCount: 0 })).toEqual({ ok: true, value: { kind: 'keep', uid: 'u' } });
    expect(checkRequest(codec, { payload: codec.encodeRequest({ snapshot_sent: {} }), fdCount: 0 })).toEqual({ ok: true, value: { kind: 'snapshot-sent' } });
    const bare = codec.encodeRequest({ add: { uid: 'x' } });
    expect(checkRequest(codec, { payload: bare, fdCount: 1 })).toMatchObject({ ok: true, value: { name: '', namespace: '', serviceAccount: '' } });
  });

  it.each([
    ['garbage', { payload: Buffer.from([0xff, 0xff]), fdCount: 0 }, /WorkloadRequest does not decode: index out of range/],
    ['no payload', { payload: Buffer.from([]), fdCount: 0 }, /without a payload \(expected add, del, snapshot_sent or keep\)/],
    ['unknown field only', { payload: Buffer.from([0x20, 0x01]), fdCount: 0 }, /without a payload/],
    ['add without fd', { payload: add, fdCount: 0 }, /AddWorkload must carry exactly one fd \(the pod's network namespace\), got 0/],
    ['add with two fds', { payload: add, fdCount: 2 }, /exactly one fd.*got 2/],
    ['add with too many fds', { payload: add, fdCount: 2, fdsTruncated: true }, /carries more fds than accepted/],
    ['add without uid', { payload: codec.encodeRequest({ add: { workload_info: { name: 'n' } } }), fdCount: 1 }, /AddWorkload without a uid/],
    ['del with an fd', { payload: codec.encodeRequest({ del: { uid: 'u' } }), fdCount: 1 }, /DelWorkload must carry no fd, got 1/],
    ['del without uid', { payload: codec.encodeRequest({ del: {} }), fdCount: 0 }, /DelWorkload without a uid/],
    ['keep without uid', { payload: codec.encodeRequest({ keep: {} }), fdCount: 0 }, /KeepWorkload without a uid/],
    ['snapshot with an fd', { payload: codec.encodeRequest({ snapshot_sent: {} }), fdCount: 1 }, /SnapshotSent must carry no fd/],
    ['cut message', { payload: add, fdCount: 1, payloadTruncated: true }, /longer than the largest message/],
  ])('refuses %s', (_name, packet, error) => {
    const r = checkRequest(codec, packet);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toMatch(error);
  });
});

describe('checkResponse and checkHello', () => {
  it('reads the Ack', () => {
    expect(checkResponse(codec, { payload: codec.encodeResponse({ ack: {} }), fdCount: 0 })).toEqual({ ok: true, value: { error: '' } });
    expect(checkResponse(codec, { payload: codec.encodeResponse({ ack: { error: 'no' } }), fdCount: 0 })).toEqual({ ok: true, value: { error: 'no' } });
    expect(checkResponse(codec, { payload: Buffer.from([0x10, 0x01]), fdCount: 0 })).toEqual({ ok: false, error: 'WorkloadResponse without an Ack' });
    expect(checkResponse(codec, { payload: Buffer.from([0x0a, 0x05]), fdCount: 0 })).toMatchObject({ ok: false, error: expect.stringMatching(/does not decode/) });
    expect(checkResponse(codec, { payload: codec.encodeResponse({ ack: {} }), fdCount: 1 })).toMatchObject({ ok: false, error: expect.stringMatching(/no fd/) });
  });

  it('reads the ZdsHello', () => {
    expect(checkHello(codec, { payload: codec.encodeHello({ version: 'V1' }), fdCount: 0 })).toEqual({ ok: true, value: { version: 'V1' } });
    expect(checkHello(codec, { payload: Buffer.from([0x08, 0x07]), fdCount: 0 })).toEqual({ ok: true, value: { version: 7 } }); // a newer version: the node agent decides
    expect(checkHello(codec, { payload: Buffer.from([0x08, 0x00]), fdCount: 0 })).toEqual({ ok: false, error: 'ZdsHello without a version' });
    expect(checkHello(codec, { payload: codec.encodeHello({ version: 'V1' }), fdCount: 1 })).toMatchObject({ ok: false });
    expect(checkHello(codec, { payload: Buffer.from([0x0a]), fdCount: 0 })).toMatchObject({ ok: false, error: expect.stringMatching(/ZdsHello does not decode/) });
  });

  it('describes requests for logs', () => {
    expect(describeRequest({ kind: 'add', uid: 'u', name: 'n', namespace: 'ns', serviceAccount: '' })).toBe('add u (ns/n)');
    expect(describeRequest({ kind: 'del', uid: 'u' })).toBe('del u');
    expect(describeRequest({ kind: 'snapshot-sent' })).toBe('snapshot-sent');
  });
});
