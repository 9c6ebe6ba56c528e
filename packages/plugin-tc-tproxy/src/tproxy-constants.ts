/**
 * The constants of bpf/tc_tproxy.h that user space needs, mirrored here (test/header-constants.test.ts
 * checks every one against the header).
 */
import { TPROXY_EVENT_REASONS } from '@bpfsteer/contract-tproxy/kinds';

export const AF_INET = 2;
export const AF_INET6 = 10;

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** default rule capacity (tctp_rules / tctp_rule_hits hold one more: id 0 is never used) */
export const DEFAULT_MAX_RULES = 131072;
export const DEFAULT_TRIE_ENTRIES = 262144;
/** least max_entries of tctp_dst / tctp_dst_host (user space only: the hash's buckets cost 16 bytes per entry up front) */
export const MIN_HOST_ENTRIES = 65536;
export const MAX_IFACES = 64;
export const MAX_IF_ADDRS = 1024;
/** default conntrack entries per protocol (conntrack.maxEntries): ~128 bytes each, preallocated */
export const DEFAULT_CT_ENTRIES = 32768;
export const EVENTS_BYTES = 256 * 1024;
export const RULE_NONE = 0;
/** tctp_summary.version of a valid summary (0: the rule maps may have changed since it was written) */
export const SUMMARY_VERSION = 2;

/** LPM prefix lengths: the fixed leading fields count as fully specified bits */
export const DST_FIXED_BITS = 64;
export const SRC_FIXED_BITS = 32;
export const PORT_FIXED_BITS = 32;

/** port intervals a tctp_dst value holds inline */
export const INLINE_RANGES = 4;

export const ACTION_DIVERT = 1;
export const ACTION_PASS = 2;
export const ACTION_DENY = 3;

export const IF_SSH = 1 << 0;
export const IF_ECHO = 1 << 1;
export const IF_IPV6 = 1 << 2;
export const IF_EVENTS_DROP = 1 << 3;
export const IF_EVENTS_DIVERT = 1 << 4;

export const EV_DROP = 1;
export const EV_DIVERT = 2;

/** tctp_event.reason codes, by value (TCTP_REASON_RULE 0 .. TCTP_REASON_PROTO 8): the contract's reason names */
export const REASONS = TPROXY_EVENT_REASONS;

/** default .rodata time-outs, in seconds (TCTP_TCP_IDLE_NS etc. / 1e9) */
export const DEFAULT_TCP_IDLE_SECONDS = 3600;
export const DEFAULT_UDP_IDLE_SECONDS = 30;
export const DEFAULT_TCP_CLOSING_SECONDS = 10;
