/** tc-nexthop's rule capacity limits (light: the config schema of the plugin's entry uses them). */
export const DEFAULT_MAX_RULES = 16384;
/** Upper bound for maxRules (memory: about 200 bytes per rule plus the per-CPU counters). */
export const MAX_MAX_RULES = 1 << 20;
