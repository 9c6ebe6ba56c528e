// @bpfsteer/source-istiod: Istiod workload discovery (Delta xDS over gRPC).

export {
  type AddressEntry,
  type AddressState,
  emptyAddressState,
  type PortMapping,
  resourceVersions,
  type ServiceInfo,
  servicesOf,
  translateAddress,
  type Translated,
  type WorkloadInfo,
  workloadsOf,
} from './xds/address-state.js';
export {
  type AppliedResponse,
  type ApplyOptions,
  applyDeltaResponse,
  type RejectedResponse,
} from './xds/apply-delta-response.js';
export { type BackoffPolicy, backoffDelay } from './xds/backoff.js';
export {
  DeltaAdsClient,
  type DeltaAdsClientDeps,
  type DeltaAdsClientEvents,
  type XdsChange,
  type XdsDisconnect,
  type XdsLogger,
  type XdsNack,
} from './xds/delta-ads-client.js';
export {
  type DeltaAdsClientOptions,
  type DeltaAdsClientOptionsInput,
  checkDeltaAdsOptions,
  deltaAdsClientFields,
  deltaAdsClientOptionsSchema,
} from './xds/delta-ads-options.js';
export {
  ackRequest,
  nackRequest,
  type NodeIdentity,
  nodeMessage,
  RPC_INVALID_ARGUMENT,
  subscribeRequest,
} from './xds/delta-requests.js';
export { formatIpBytes, parseIpAddress } from './xds/ip-address.js';
export { type LocalWorkload, type MeshView, meshView } from './xds/mesh-view.js';
export {
  ADDRESS_TYPE_URL,
  type AddressDecoder,
  type DeltaDiscoveryRequestInput,
  type RawAddress,
  type RawDeltaDiscoveryRequest,
  type RawDeltaDiscoveryResponse,
  type RawService,
  type RawWorkload,
} from './xds/xds-messages.js';
export {
  type DeltaAdsMethod,
  loadXdsProtos,
  locateProtoDir,
  type RawDeltaDiscoveryResponseInput,
  type XdsProtos,
} from './xds/xds-protos.js';
export {
  MESH_LOCAL_WORKLOAD_KIND,
  MESH_MEMBER_KIND,
  meshIntents,
} from './mesh-intents.js';
export { type IstiodSourceConfig, istiodSource, istiodSourceConfigSchema } from './istiod-source.js';
