/**
 * The ZDS messages (proto/istio/zds/zds.proto), loaded once with @grpc/proto-loader under the same
 * options as the xDS protos (field names as in the .proto, enums as strings, oneofs named).
 * Decoding throws on bytes that are not a valid protobuf encoding.
 */
import { join } from 'node:path';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';
import { locateProtoDir, PROTO_LOADER_OPTIONS } from '../xds/xds-protos.js';

/** A decoded WorkloadRequest (`payload` names the member that is set). */
export interface RawWorkloadRequest {
  payload?: 'add' | 'del' | 'snapshot_sent' | 'keep';
  add?: { uid: string; workload_info: { name: string; namespace: string; service_account: string } | null };
  del?: { uid: string };
  snapshot_sent?: Record<string, never>;
  keep?: { uid: string };
}

export interface RawWorkloadResponse {
  payload?: 'ack';
  ack?: { error: string };
}

export interface RawZdsHello {
  /** "V1", "NOT_USED", or a number for a version this package does not know */
  version: string | number;
}

/** What may be encoded (every field optional). */
export type WorkloadRequestInput =
  | { add: { uid?: string; workload_info?: { name?: string; namespace?: string; service_account?: string } } }
  | { del: { uid?: string } }
  | { snapshot_sent: Record<string, never> }
  | { keep: { uid?: string } }
  | Record<string, never>;

export interface ZdsCodec {
  decodeRequest(bytes: Uint8Array): RawWorkloadRequest;
  encodeRequest(request: WorkloadRequestInput): Buffer;
  decodeResponse(bytes: Uint8Array): RawWorkloadResponse;
  encodeResponse(response: { ack: { error?: string } }): Buffer;
  decodeHello(bytes: Uint8Array): RawZdsHello;
  encodeHello(hello: { version: string | number }): Buffer;
}

const ZDS_PROTO = join('istio', 'zds', 'zds.proto');
const cache = new Map<string, ZdsCodec>();

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Loads (once per directory) the ZDS messages. */
export function loadZdsProtos(protoDir: string = locateProtoDir()): ZdsCodec {
  const cached = cache.get(protoDir);
  if (cached) return cached;
  const definition = loadSync([ZDS_PROTO], { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir] });
  const type = (name: string) => definition[`istio.zds.${name}`] as MessageTypeDefinition<object, object>;
  const request = type('WorkloadRequest');
  const response = type('WorkloadResponse');
  const hello = type('ZdsHello');
  const codec: ZdsCodec = {
    decodeRequest: (bytes) => request.deserialize(asBuffer(bytes)) as RawWorkloadRequest,
    encodeRequest: (value) => request.serialize(value),
    decodeResponse: (bytes) => response.deserialize(asBuffer(bytes)) as RawWorkloadResponse,
    encodeResponse: (value) => response.serialize(value),
    decodeHello: (bytes) => hello.deserialize(asBuffer(bytes)) as RawZdsHello,
    encodeHello: (value) => hello.serialize(value),
  };
  cache.set(protoDir, codec);
  return codec;
}
