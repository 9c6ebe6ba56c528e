/**
 * Loads this package's .proto files (shipped in `proto/`) with @grpc/proto-loader, once, on first
 * use. The well-known google.protobuf types (Any, Struct, UInt32Value) come from protobufjs's
 * built-in definitions, which proto-loader always uses for `google/protobuf/*.proto` imports.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';
import type {
  AddressDecoder,
  DeltaDiscoveryRequestInput,
  RawDeltaDiscoveryRequest,
  RawDeltaDiscoveryResponse,
} from './xds-messages.js';

const MARKER = join('istio', 'workload', 'workload.proto');

/** The options every message of this package is (de)serialised with. */
export const PROTO_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
} as const;

/** The method as a client writes/reads it and as a server reads/writes it. */
export interface DeltaAdsMethod {
  /** "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources" */
  readonly path: string;
  readonly requestSerialize: (request: DeltaDiscoveryRequestInput) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => RawDeltaDiscoveryResponse;
  readonly requestDeserialize: (bytes: Buffer) => RawDeltaDiscoveryRequest;
  readonly responseSerialize: (response: RawDeltaDiscoveryResponseInput) => Buffer;
}

/** What a server may send: like the decoded response, with every field optional. */
export interface RawDeltaDiscoveryResponseInput {
  system_version_info?: string;
  resources?: {
    name?: string;
    version?: string;
    aliases?: string[];
    resource?: { type_url: string; value: Uint8Array } | null;
  }[];
  type_url?: string;
  nonce?: string;
  removed_resources?: string[];
}

export interface XdsProtos {
  /** the directory the .proto files were read from */
  readonly protoDir: string;
  /** `envoy.service.discovery.v3.AggregatedDiscoveryService` (for a server: addService) */
  readonly adsService: ServiceDefinition;
  /** its DeltaAggregatedResources method (path and (de)serialisers) */
  readonly deltaMethod: DeltaAdsMethod;
  readonly decodeAddress: AddressDecoder;
  /** encodes an `istio.workload.Address` given as a plain object with .proto field names */
  readonly encodeAddress: (address: object) => Buffer;
}

/**
 * The package's `proto/` directory: next to `dist/` when built, two levels above `src/xds/` when
 * run from source.
 */
export function locateProtoDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, MARKER))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find the xDS .proto files (proto/${MARKER}) above ${from}`);
}

const cache = new Map<string, XdsProtos>();

/** Loads (once per directory) and returns the xDS protos. */
export function loadXdsProtos(protoDir: string = locateProtoDir()): XdsProtos {
  const cached = cache.get(protoDir);
  if (cached) return cached;
  const definition = loadSync(
    [join('envoy', 'service', 'discovery', 'v3', 'ads.proto'), MARKER],
    { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir] },
  );
  const adsService = definition['envoy.service.discovery.v3.AggregatedDiscoveryService'] as ServiceDefinition;
  const address = definition['istio.workload.Address'] as MessageTypeDefinition<object, object>;
  const protos: XdsProtos = {
    protoDir,
    adsService,
    deltaMethod: adsService.DeltaAggregatedResources as unknown as DeltaAdsMethod,
    decodeAddress: (bytes) =>
      address.deserialize(
        Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ) as ReturnType<AddressDecoder>,
    encodeAddress: (value) => address.serialize(value),
  };
  cache.set(protoDir, protos);
  return protos;
}
