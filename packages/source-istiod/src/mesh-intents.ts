/**
 * MeshView -> intents (pure). PROVISIONAL kinds, until the sk_lookup plugin fixes its contract:
 *   mesh.member          { address }                          one per mesh member IP
 *   mesh.local-workload  { uid, name, namespace, addresses }  one per HBONE workload on this node
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import type { MeshView } from './xds/mesh-view.js';

export const MESH_MEMBER_KIND = 'mesh.member';
export const MESH_LOCAL_WORKLOAD_KIND = 'mesh.local-workload';

/** The intents of `view`, only of the kinds in `consumed` (the agent rejects kinds no plugin consumes). */
export function meshIntents(view: MeshView, consumed: ReadonlySet<string>): Intent[] {
  const intents: Intent[] = [];
  if (consumed.has(MESH_MEMBER_KIND)) {
    for (const address of view.members) intents.push({ kind: MESH_MEMBER_KIND, address });
  }
  if (consumed.has(MESH_LOCAL_WORKLOAD_KIND)) {
    for (const w of view.localWorkloads) {
      intents.push({ kind: MESH_LOCAL_WORKLOAD_KIND, uid: w.uid, name: w.name, namespace: w.namespace, addresses: [...w.addresses] });
    }
  }
  return intents;
}
