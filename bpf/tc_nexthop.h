/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tc_nexthop: the single definition of the maps' keys, values and constants shared by
 * bpf/tc_nexthop.bpf.c and packages/plugin-tc-nexthop (whose codecs are checked against the
 * object's BTF when the maps are wrapped).
 *
 * A rule maps a SOURCE prefix (IPv4 or IPv6) to (egress ifindex, next hop of the same family).
 * Lookup is longest-prefix match done as exact matches on per-length tables:
 *
 *   tcnh_v4_pfx / tcnh_v6_pfx   HASH  {prefixlen, masked address} -> rule slot
 *   tcnh_rules                  ARRAY slot -> {ifindex, next hop}   (slot 0 is never used)
 *   tcnh_counters               PERCPU_ARRAY slot -> {packets, bytes}
 *
 * and a small index so that a packet only probes the prefix lengths that can match it:
 *
 *   tcnh_v4_bkt    ARRAY, one entry per IPv4 /16 (index = top 16 bits of the source, host order):
 *                  long_mask bit (L - 17) set when a rule of length L (17..32) lies inside the /16;
 *                  fallback_slot = the longest rule of length 0..16 covering the /16 (0 = none).
 *   tcnh_v6_bkt    HASH keyed by the first 32 bits of the source (network order), present only
 *                  for /32s that hold rules longer than /32: long_mask bit (L - 33) of 96 for
 *                  lengths 33..128 (word 0 = lengths 33..64), fallback_slot as above for 0..32.
 *   tcnh_v6_short  ARRAY[1]: bit L set when some IPv6 rule has length L (0..32); probed,
 *                  longest first, only for packets whose /32 has no bucket.
 *
 * Everything in network byte order is typed __be32 and named as such; no bool, explicit padding.
 */
#ifndef TC_NEXTHOP_H
#define TC_NEXTHOP_H

#include <linux/types.h>

#define TCNH_AF_INET 2
#define TCNH_AF_INET6 10

/* default rule capacity; user space may change every map's max_entries before load */
#define TCNH_MAX_RULES 16384
/* slot 0 means "no rule": the rules/counters arrays hold TCNH_MAX_RULES + 1 entries */
#define TCNH_SLOT_NONE 0

#define TCNH_V4_BUCKET_BITS 16
#define TCNH_V4_BUCKETS (1u << TCNH_V4_BUCKET_BITS)
/* IPv4 lengths held in a bucket's long_mask: 17..32 */
#define TCNH_V4_LONG_MIN 17
/* IPv6 lengths held in a bucket's long_mask: 33..128, 32 per word */
#define TCNH_V6_LONG_MIN 33
#define TCNH_V6_LONG_WORDS 3

/* tcnh_v4_pfx key: prefix length 0..32 and the source address with the host bits cleared */
struct tcnh_v4_key {
	__u32 prefixlen;
	__be32 addr_be;
};

/* tcnh_v6_pfx key: prefix length 0..128 and the masked source address */
struct tcnh_v6_key {
	__u32 prefixlen;
	__be32 addr_be[4];
};

/*
 * tcnh_rules value. nh_family .. nh_addr_be has the layout of the kernel's struct
 * bpf_redir_neigh, so the program hands a pointer into the map value straight to
 * bpf_redirect_neigh. An IPv4 next hop uses nh_addr_be[0]; the rest is zero.
 */
struct tcnh_rule {
	__u32 ifindex;
	__u32 nh_family; /* TCNH_AF_INET or TCNH_AF_INET6; 0 in an unused slot */
	__be32 nh_addr_be[4];
};

/* tcnh_counters value (per CPU) */
struct tcnh_counter {
	__u64 packets;
	__u64 bytes;
};

/* tcnh_v4_bkt value */
struct tcnh_v4_bucket {
	__u32 long_mask;
	__u32 fallback_slot;
};

/* tcnh_v6_bkt value (key: __be32, the first 32 bits of the source address) */
struct tcnh_v6_bucket {
	__u32 long_mask[TCNH_V6_LONG_WORDS];
	__u32 fallback_slot;
};

/* tcnh_v6_short value: bit L set when an IPv6 rule of length L (0..32) exists */
struct tcnh_v6_short {
	__u64 len_mask;
};

#endif /* TC_NEXTHOP_H */
