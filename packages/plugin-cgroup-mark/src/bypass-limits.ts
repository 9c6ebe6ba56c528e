/** The capacity of mesh_bypass (the LRU map plugin-sklookup reads): default and most. */
export const DEFAULT_BYPASS_ENTRIES = 65536;
export const MAX_BYPASS_ENTRIES = 1 << 22;
