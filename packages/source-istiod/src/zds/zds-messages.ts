/**
 * ZDS messages as received, checked (pure): the protobuf must decode, exactly one payload member
 * must be set, uids must be present, and an AddWorkload must carry exactly one fd while every other
 * message carries none. Anything else is a malformed message with a reason to put in an Ack.
 */
import type { RawWorkloadRequest, ZdsCodec } from './zds-protos.js';

export type ZdsRequest =
  | { readonly kind: 'add'; readonly uid: string; readonly name: string; readonly namespace: string; readonly serviceAccount: string }
  | { readonly kind: 'del'; readonly uid: string }
  | { readonly kind: 'keep'; readonly uid: string }
  | { readonly kind: 'snapshot-sent' };

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** What a received packet looked like (its fds themselves stay with the caller). */
export interface PacketShape {
  readonly payload: Uint8Array;
  readonly fdCount: number;
  readonly fdsTruncated?: boolean;
  readonly payloadTruncated?: boolean;
}

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

function packetProblem(packet: PacketShape, what: string): string | undefined {
  if (packet.payloadTruncated) return `${what} is longer than the largest message accepted`;
  if (packet.fdsTruncated) return `${what} carries more fds than accepted`;
  return undefined;
}

function decode<T>(fn: () => T, what: string): Checked<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return fail(`${what} does not decode: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function fdRule(kind: string, fdCount: number, expected: number): string | undefined {
  if (fdCount === expected) return undefined;
  return expected === 1
    ? `${kind} must carry exactly one fd (the pod's network namespace), got ${fdCount}`
    : `${kind} must carry no fd, got ${fdCount}`;
}

/** A WorkloadRequest from the node agent (istio-cni). */
export function checkRequest(codec: ZdsCodec, packet: PacketShape): Checked<ZdsRequest> {
  const problem = packetProblem(packet, 'WorkloadRequest');
  if (problem) return fail(problem);
  const decoded = decode(() => codec.decodeRequest(packet.payload), 'WorkloadRequest');
  if (!decoded.ok) return decoded;
  const raw: RawWorkloadRequest = decoded.value;
  switch (raw.payload) {
    case 'add': {
      const add = raw.add!;
      if (!add.uid) return fail('AddWorkload without a uid');
      const fds = fdRule('AddWorkload', packet.fdCount, 1);
      if (fds) return fail(fds);
      const info = add.workload_info;
      return {
        ok: true,
        value: { kind: 'add', uid: add.uid, name: info?.name ?? '', namespace: info?.namespace ?? '', serviceAccount: info?.service_account ?? '' },
      };
    }
    case 'del': {
      if (!raw.del!.uid) return fail('DelWorkload without a uid');
      const fds = fdRule('DelWorkload', packet.fdCount, 0);
      return fds ? fail(fds) : { ok: true, value: { kind: 'del', uid: raw.del!.uid } };
    }
    case 'keep': {
      if (!raw.keep!.uid) return fail('KeepWorkload without a uid');
      const fds = fdRule('KeepWorkload', packet.fdCount, 0);
      return fds ? fail(fds) : { ok: true, value: { kind: 'keep', uid: raw.keep!.uid } };
    }
    case 'snapshot_sent': {
      const fds = fdRule('SnapshotSent', packet.fdCount, 0);
      return fds ? fail(fds) : { ok: true, value: { kind: 'snapshot-sent' } };
    }
    default:
      return fail('WorkloadRequest without a payload (expected add, del, snapshot_sent or keep)');
  }
}

/** A WorkloadResponse from the proxy: the Ack's error ('' = success). */
export function checkResponse(codec: ZdsCodec, packet: PacketShape): Checked<{ readonly error: string }> {
  const problem = packetProblem(packet, 'WorkloadResponse');
  if (problem) return fail(problem);
  const decoded = decode(() => codec.decodeResponse(packet.payload), 'WorkloadResponse');
  if (!decoded.ok) return decoded;
  if (decoded.value.payload !== 'ack') return fail('WorkloadResponse without an Ack');
  if (packet.fdCount !== 0) return fail(`WorkloadResponse must carry no fd, got ${packet.fdCount}`);
  return { ok: true, value: { error: decoded.value.ack!.error } };
}

/** The ZdsHello the proxy sends first. */
export function checkHello(codec: ZdsCodec, packet: PacketShape): Checked<{ readonly version: string | number }> {
  const problem = packetProblem(packet, 'ZdsHello');
  if (problem) return fail(problem);
  const decoded = decode(() => codec.decodeHello(packet.payload), 'ZdsHello');
  if (!decoded.ok) return decoded;
  if (packet.fdCount !== 0) return fail(`ZdsHello must carry no fd, got ${packet.fdCount}`);
  if (decoded.value.version === 'NOT_USED' || decoded.value.version === 0) return fail('ZdsHello without a version');
  return { ok: true, value: { version: decoded.value.version } };
}

/** A short text for logs: "add 1234 (ns/name)". */
export function describeRequest(request: ZdsRequest): string {
  switch (request.kind) {
    case 'add':
      return `add ${request.uid} (${request.namespace}/${request.name})`;
    case 'del':
    case 'keep':
      return `${request.kind} ${request.uid}`;
    default:
      return 'snapshot-sent';
  }
}
