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
export { type LocalWorkload, type MeshView, meshView } from './xds/mesh-view.js';
export { MeshIndex, type MeshIndexDelta, type StateChange } from './xds/mesh-index.js';
export { type MapWriter, PersistentMap } from './xds/persistent-map.js';
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
export { meshIntents } from './mesh-intents.js';
// the kinds are @bpfsteer/contract-mesh's; re-exported for users of this package
export { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
export { ISTIOD_UNREACHABLE, type IstiodSourceConfig, istiodSource, istiodSourceModule, istiodSourceConfigSchema } from './istiod-source.js';
export { MeshPublisher, type MeshPublisherDeps, type MeshPublisherOptions } from './mesh-publisher.js';
export {
  type IstiodMetrics,
  istiodMetrics,
  type XdsMetrics,
  type XdsResponseOutcome,
  type ZdsMetrics,
  type ZdsReadings,
  type ZdsRequestOutcome,
  type ZdsRequestType,
} from './istiod-metrics.js';

// The CNI side: ZDS between istio-cni and the node proxy, pods' netns and HBONE listeners
export { ZdsProxy, type ZdsProxyDeps, type ZdsProxyEvents } from './zds/zds-proxy.js';
export { type ZdsProxyOptions, type ZdsProxyOptionsInput, zdsProxyOptionsSchema } from './zds/zds-proxy-options.js';
export {
  type AddPodInput,
  PodRegistry,
  type PodRegistryDeps,
  type PodRegistryEvents,
  type PodRemovalReason,
  type ZdsPod,
} from './zds/pod-registry.js';
export {
  HboneListeners,
  type HboneListenersDeps,
  type HboneListenersEvents,
  type PodListener,
  type PodNetwork,
} from './zds/hbone-listeners.js';
export {
  type HboneListenersOptions,
  type HboneListenersOptionsInput,
  hboneListenersOptionsSchema,
} from './zds/hbone-listeners-options.js';
export { type DiscoveredListener, type DiscoveryResult, discoverListeners } from './zds/listener-discovery.js';
export { checkRegistration, ListenerRegistrationServer, type RegisterListener } from './zds/listener-registration.js';
export { podAddressesOf, readPodAddresses } from './zds/pod-addresses.js';
export { type PodHandles, podSocketHandles, sklookupPodIntents } from './zds/sklookup-intents.js';
export { type SocketHoldersOptions, socketsHeldElsewhere } from './zds/socket-holders.js';
export { checkHello, checkRequest, checkResponse, type Checked, describeRequest, type PacketShape, type ZdsRequest } from './zds/zds-messages.js';
export {
  loadZdsProtos,
  type RawWorkloadRequest,
  type RawWorkloadResponse,
  type RawZdsHello,
  type WorkloadRequestInput,
  type ZdsCodec,
} from './zds/zds-protos.js';
export { ReplyQueue } from './zds/reply-queue.js';
export { PodFeed, type PodFeedDeps, type PodFeedEvents, type PodFeedState } from './zds/pod-feed.js';
export { type PodFeedOptions, type PodFeedOptionsInput, podFeedOptionsSchema } from './zds/pod-feed-options.js';
export { type PodSelection, type SkippedPod, selectPods } from './zds/pod-selection.js';
