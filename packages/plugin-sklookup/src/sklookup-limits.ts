/** The defaults and limits of the sklookup dataplane's sizes (its config and its options). */
export const DEFAULT_MAX_MEMBERS = 65536;
export const DEFAULT_MAX_PODS = 1024;
export const DEFAULT_MAX_POD_ADDRESSES = 4096;
export const DEFAULT_BYPASS_ENTRIES = 65536;
export const DEFAULT_BYPASS_TTL_MS = 5000;
export const MAX_MAX_MEMBERS = 1 << 22;
export const MAX_MAX_PODS = 65535;
