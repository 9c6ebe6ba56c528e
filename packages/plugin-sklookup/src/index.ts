export { DEFAULT_MAX_MEMBERS, DEFAULT_MAX_PODS, DEFAULT_MAX_POD_ADDRESSES, DEFAULT_BYPASS_ENTRIES, DEFAULT_BYPASS_TTL_MS } from './sklookup-limits.js';
export {
  SklookupDataplane,
  type SklookupDataplaneOptions,
  type SklookupDataplaneStatus,
  type PodStatus,
  type PreparedApply,
  type ApplyCounts,
} from './sklookup-dataplane.js';
export type { LookupCounters } from './sklookup-maps.js';
export { readDesiredMesh, type DesiredMesh, type DesiredPod, type MeshCapacity } from './sklookup-intents.js';
// the kinds and schemas are @bpfsteer/contract-mesh's; re-exported for users of this package
export { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND, meshMemberIntentSchema, sklookupPodIntentSchema, MAX_POD_SOCKETS } from '@bpfsteer/contract-mesh';
export { DEFAULT_SKIP_PORTS } from './skip-ports.js';
export { meshKey, displayAddress, isIpv4Key, MeshKeyCache } from './mesh-address.js';
export { defaultObjectPath } from './bpf-object-path.js';
export { sklookupPlugin } from './sklookup-plugin.js';
export { sklookupDeclaration, sklookupEntry } from './sklookup-entry.js';
export { sklookupModule } from './sklookup-module.js';
export { sklookupImplementation, sklookupSteps } from './sklookup-steps.js';
export { sklookupConfigSchema, type SklookupConfig } from './sklookup-config.js';
