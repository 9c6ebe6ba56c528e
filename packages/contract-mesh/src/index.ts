export { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND, MAX_POD_SOCKETS, podUidProblem, MESH_BYPASS_MAP, type MeshBypassMap } from './kinds.js';
export { addressSchema } from './address-schema.js';
export { meshMemberIntentSchema, type MeshMemberIntent } from './mesh-member-intent.js';
export { socketHandleSchema, sklookupPodIntentSchema, type SklookupPodIntent } from './sklookup-pod-intent.js';
