/** MeshView -> intents (pure): `mesh.member { address }` per mesh member IP (@bpfsteer/contract-mesh). */
import { MESH_MEMBER_KIND, type MeshMemberIntent } from '@bpfsteer/contract-mesh';
import type { MeshView } from './xds/mesh-view.js';

/** The intents of `view`, only of the kinds in `consumed` (the agent rejects kinds no plugin consumes). */
export function meshIntents(view: MeshView, consumed: ReadonlySet<string>): MeshMemberIntent[] {
  if (!consumed.has(MESH_MEMBER_KIND)) return [];
  return view.members.map((address) => ({ kind: MESH_MEMBER_KIND, address }));
}
