/** Mirrors of bpf/connect_redirect.h's limits (test/header-constants.test.ts checks them). */
export const MAX_RANGES_PER_PREFIX = 16;
export const MAX_RULES = 4096;
export const RULE_PREFIXES_MAX = 16384;
export const ORIGDST_ENTRIES = 65536;
export const ACTION_DIRECT = 0;
export const ACTION_REDIRECT = 1;
