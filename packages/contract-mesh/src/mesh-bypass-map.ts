/**
 * The token of what plugin-cgroup-mark provides to plugin-sklookup (agent-kernel's `provides` /
 * `needs`, bound in the agent's container): the mesh_bypass map in which the proxy's own marked
 * connections are recorded, by its pin and its capacity (both plugins must create it alike).
 */
export const MESH_BYPASS_MAP: unique symbol = Symbol.for('bpfsteer.mesh.BypassMap');

export interface MeshBypassMap {
  /** bpffs path of the pinned mesh_bypass map */
  readonly pinPath: string;
  /** its max_entries */
  readonly entries: number;
}
