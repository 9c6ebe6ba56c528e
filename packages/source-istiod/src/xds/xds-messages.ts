/**
 * The delta xDS and istio.workload messages as @grpc/proto-loader hands them over with this
 * package's options (`keepCase: true`, enums as strings, defaults filled in, bytes as Buffer):
 * field names are the .proto names (snake_case). Absent sub-messages are `null`.
 */

/** The resource type this package subscribes to. */
export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';

export interface RawAny {
  type_url: string;
  value: Buffer;
}

export interface RawResource {
  version: string;
  resource: RawAny | null;
  name: string;
  aliases: string[];
  resource_name: { name: string } | null;
}

export interface RawDeltaDiscoveryResponse {
  system_version_info: string;
  resources: RawResource[];
  type_url: string;
  nonce: string;
  removed_resources: string[];
  removed_resource_names: { name: string }[];
}

/** A google.protobuf.Value as protobufjs's built-in definition names its fields (camelCase). */
export type StructValueInput =
  | { stringValue: string }
  | { numberValue: number }
  | { boolValue: boolean };

export interface NodeInput {
  id: string;
  cluster?: string;
  metadata?: { fields: Record<string, StructValueInput> };
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

export interface DeltaDiscoveryRequestInput {
  node?: NodeInput;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

/** A request as the server side decodes it (defaults filled in). */
export interface RawDeltaDiscoveryRequest {
  node: (Required<Omit<NodeInput, 'metadata'>> & { metadata: unknown }) | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

export interface RawPort {
  service_port: number;
  target_port: number;
  app_protocol: number;
}

export interface RawNetworkAddress {
  network: string;
  address: Buffer;
  length?: number;
}

export interface RawWorkload {
  uid: string;
  name: string;
  namespace: string;
  addresses: Buffer[];
  hostname: string;
  network: string;
  /** 'NONE' | 'HBONE' | 'LEGACY_ISTIO_MTLS', or the number of a value this build does not know */
  tunnel_protocol: string | number;
  trust_domain: string;
  service_account: string;
  node: string;
  cluster_id: string;
  status: string | number;
  network_mode: string | number;
  workload_type: string | number;
  workload_name: string;
  canonical_name: string;
  canonical_revision: string;
  native_tunnel: boolean;
  authorization_policies: string[];
  services: Record<string, { ports: RawPort[] }>;
}

export interface RawService {
  name: string;
  namespace: string;
  hostname: string;
  addresses: RawNetworkAddress[];
  ports: RawPort[];
  subject_alt_names: string[];
}

export interface RawAddress {
  /** which member of the oneof is set */
  type?: 'workload' | 'service';
  workload: RawWorkload | null;
  service: RawService | null;
}

/** Decodes the bytes of one `istio.workload.Address`; throws on bytes that do not parse. */
export type AddressDecoder = (bytes: Uint8Array) => RawAddress;
