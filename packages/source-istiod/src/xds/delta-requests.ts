/** The requests the client writes on the stream, built from plain values (pure). */
import { type AddressState, resourceVersions } from './address-state.js';
import type { DeltaDiscoveryRequestInput, NodeInput, StructValueInput } from './xds-messages.js';

export interface NodeIdentity {
  /** e.g. "ztunnel~10.0.0.5~bpfsteer-abc.istio-system~istio-system.svc.cluster.local" */
  readonly id: string;
  readonly cluster?: string;
  /** sent as the node's google.protobuf.Struct metadata */
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

/** google.rpc.Code INVALID_ARGUMENT: what a NACK of a malformed response carries. */
export const RPC_INVALID_ARGUMENT = 3;

function structValue(value: string | number | boolean): StructValueInput {
  // protobufjs's built-in google.protobuf.Value names its fields in camelCase
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  return { boolValue: value };
}

export function nodeMessage(node: NodeIdentity, userAgentVersion: string): NodeInput {
  const message: NodeInput = { id: node.id, user_agent_name: 'bpfsteer', user_agent_version: userAgentVersion };
  if (node.cluster) message.cluster = node.cluster;
  if (node.metadata) {
    const fields: Record<string, StructValueInput> = {};
    for (const [key, value] of Object.entries(node.metadata)) fields[key] = structValue(value);
    message.metadata = { fields };
  }
  return message;
}

/**
 * The first request of a stream: who we are, the type URL, a wildcard subscription (an empty
 * subscribe list on the first request), and — on a re-opened stream — every resource held with its
 * version so the server sends only what changed.
 */
export function subscribeRequest(node: NodeInput, typeUrl: string, held: AddressState): DeltaDiscoveryRequestInput {
  return {
    node,
    type_url: typeUrl,
    resource_names_subscribe: [],
    initial_resource_versions: resourceVersions(held),
  };
}

export function ackRequest(typeUrl: string, nonce: string): DeltaDiscoveryRequestInput {
  return { type_url: typeUrl, response_nonce: nonce };
}

export function nackRequest(typeUrl: string, nonce: string, message: string): DeltaDiscoveryRequestInput {
  return { type_url: typeUrl, response_nonce: nonce, error_detail: { code: RPC_INVALID_ARGUMENT, message } };
}
