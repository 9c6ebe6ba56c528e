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
 *                  fallback_slot = the longest rule of length 0..16 covering the /16 (0 = none);
 *                  only_slot = the rule when exactly one rule longer than /16 lies inside (0 =
 *                  none or several): the program then checks that rule's own source prefix
 *                  instead of probing the hash; sub = n (1-based) when the /16 holds rules of
 *                  several lengths above /16 and got sub-table n of tcnh_v4_sub.
 *   tcnh_v4_sub    ARRAY of TCNH_V4_SUB_TABLES tables of 256 cells, one per /24 of a split /16
 *                  (cell (n - 1) * 256 + third byte): long_mask bit (L - 25) for lengths 25..32
 *                  inside the /24, fallback_slot = the longest rule of length 0..24 covering the
 *                  /24, only_slot as above. A split /16 is looked up only through its cells.
 *   tcnh_v6_bkt    ARRAY of 65536 buckets indexed by a hash of the first 32 bits of the source
 *                  (TCNH_V6_BUCKET_OF): long_mask bit (L - 33) of 96 (word 0 = lengths 33..64)
 *                  set when a rule of length L > 32 has its first 32 bits in this bucket.
 *                  Several /32s may share a bucket: the mask is their union (extra probes only).
 *                  only_slot as for IPv4: the bucket's single rule longer than /32, if any.
 *   tcnh_v6_short  ARRAY[1]: bit L set when some IPv6 rule has length L (0..32); probed,
 *                  longest first, after the bucket's lengths found nothing (only_slot: the
 *                  single such rule, checked in place, when there is exactly one).
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
/* IPv4 sub-tables: 256 cells (one per /24) for /16s with rules of several lengths */
#define TCNH_V4_SUB_TABLES 1024
#define TCNH_V4_SUB_CELLS 256
/* IPv4 lengths held in a sub cell's long_mask: 25..32 */
#define TCNH_V4_SUB_LONG_MIN 25
/* IPv6 lengths held in a bucket's long_mask: 33..128, 32 per word */
#define TCNH_V6_LONG_MIN 33
#define TCNH_V6_LONG_WORDS 3
#define TCNH_V6_BUCKET_BITS 16
#define TCNH_V6_BUCKETS (1u << TCNH_V6_BUCKET_BITS)
/* multiplicative hash of the first 32 bits of an IPv6 address (host order) to a bucket index */
#define TCNH_V6_HASH_MUL 2654435761u
#define TCNH_V6_BUCKET_OF(first32_host) \
	((__u32)((__u32)(first32_host) * TCNH_V6_HASH_MUL) >> (32 - TCNH_V6_BUCKET_BITS))

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
 * bpf_redirect_neigh. IPv4 addresses use word [0]; the rest is zero. The rule's own source
 * prefix lets the program verify a bucket's only_slot without a hash probe.
 */
struct tcnh_rule {
	__u32 ifindex;
	__u32 nh_family; /* TCNH_AF_INET or TCNH_AF_INET6; 0 in an unused slot */
	__be32 nh_addr_be[4];
	__u32 src_prefixlen;
	__be32 src_addr_be[4]; /* masked */
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
	__u32 only_slot;
	__u32 sub; /* 0, or the 1-based sub-table of this /16 */
};

/* tcnh_v4_sub value: one /24 of a split /16 */
struct tcnh_v4_sub_cell {
	__u32 long_mask;
	__u32 fallback_slot;
	__u32 only_slot;
};

/* tcnh_v6_bkt value */
struct tcnh_v6_bucket {
	__u32 long_mask[TCNH_V6_LONG_WORDS];
	__u32 only_slot;
};

/* tcnh_v6_short value: bit L set when an IPv6 rule of length L (0..32) exists */
struct tcnh_v6_short {
	__u64 len_mask;
	__u32 only_slot; /* the only IPv6 rule of length 0..32, if there is exactly one */
	__u32 _pad;
};

#endif /* TC_NEXTHOP_H */
