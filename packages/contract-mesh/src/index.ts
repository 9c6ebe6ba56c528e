export { addressSchema } from './address-schema.js';
export { MESH_MEMBER_KIND, meshMemberIntentSchema, type MeshMemberIntent } from './mesh-member-intent.js';
export {
  SKLOOKUP_POD_KIND,
  MAX_POD_SOCKETS,
  podUidProblem,
  socketHandleSchema,
  sklookupPodIntentSchema,
  type SklookupPodIntent,
} from './sklookup-pod-intent.js';
export { MESH_BYPASS_MAP, type MeshBypassMap } from './mesh-bypass-map.js';
