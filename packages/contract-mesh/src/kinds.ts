/**
 * The light entry of the contract (`@bpfsteer/contract-mesh/kinds`): the names of the kinds, the
 * pod-uid check, the sklookup.pod limits and the mesh_bypass token, without zod (a plugin's worker
 * thread imports this; the schemas in the main entry are loaded where something is validated).
 */
export const MESH_MEMBER_KIND = 'mesh.member';
export const SKLOOKUP_POD_KIND = 'sklookup.pod';

/** At most one listener per address family. */
export const MAX_POD_SOCKETS = 2;

/** What is wrong with `uid` as a pod uid (a non-empty string without control characters); undefined when nothing. */
export function podUidProblem(uid: unknown): string | undefined {
  if (typeof uid !== 'string' || uid.length === 0) return 'pod uid must be a non-empty string';
  if (/[\u0000-\u001f]/.test(uid)) return `pod uid ${JSON.stringify(uid)} contains control characters`;
  return undefined;
}

export { MESH_BYPASS_MAP, type MeshBypassMap } from './mesh-bypass-map.js';
