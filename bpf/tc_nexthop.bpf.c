// SPDX-License-Identifier: Apache-2.0
/*
 * tc egress next-hop steering by SOURCE address (IPv4 and IPv6).
 *
 * A packet whose source address matches a rule (longest prefix wins) leaves through the rule's
 * interface towards the rule's next hop, with L2 filled in by the neighbour subsystem
 * (bpf_redirect_neigh with an explicit next hop). Anything else continues unchanged (TC_ACT_OK).
 * Maps and their layouts: see tc_nexthop.h.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf_map_def.h"
#include "l3_source.h"
#include "tc_nexthop.h"
#include "tc_nexthop_redirect.h"

_Static_assert(sizeof(struct tcnh_v4_key) == 8, "tcnh_v4_key layout");
_Static_assert(sizeof(struct tcnh_v6_key) == 20, "tcnh_v6_key layout");
_Static_assert(sizeof(struct tcnh_rule) == 44, "tcnh_rule layout");
_Static_assert(sizeof(struct tcnh_counter) == 16, "tcnh_counter layout");
_Static_assert(sizeof(struct tcnh_v4_bucket) == 16, "tcnh_v4_bucket layout");
_Static_assert(sizeof(struct tcnh_v4_sub_cell) == 12, "tcnh_v4_sub_cell layout");
_Static_assert(sizeof(struct tcnh_v6_bucket) == 16, "tcnh_v6_bucket layout");
_Static_assert(sizeof(struct tcnh_v6_short) == 16, "tcnh_v6_short layout");

/* tcnh_rules and tcnh_counters: see tc_nexthop_redirect.h */
BPF_MAP_DEFINE(tcnh_v4_pfx, BPF_MAP_TYPE_HASH, struct tcnh_v4_key, __u32, TCNH_MAX_RULES);
BPF_MAP_DEFINE(tcnh_v6_pfx, BPF_MAP_TYPE_HASH, struct tcnh_v6_key, __u32, TCNH_MAX_RULES);
BPF_MAP_DEFINE(tcnh_v4_bkt, BPF_MAP_TYPE_ARRAY, __u32, struct tcnh_v4_bucket, TCNH_V4_BUCKETS);
BPF_MAP_DEFINE(tcnh_v4_sub, BPF_MAP_TYPE_ARRAY, __u32, struct tcnh_v4_sub_cell,
	       TCNH_V4_SUB_TABLES * TCNH_V4_SUB_CELLS);
BPF_MAP_DEFINE(tcnh_v6_bkt, BPF_MAP_TYPE_ARRAY, __u32, struct tcnh_v6_bucket, TCNH_V6_BUCKETS);
BPF_MAP_DEFINE(tcnh_v6_short, BPF_MAP_TYPE_ARRAY, __u32, struct tcnh_v6_short, 1);

/* keeps the compiler from turning the arithmetic below back into compares and branches */
#define opaque(v) asm volatile("" : "+r"(v))

/*
 * Index of the highest set bit of a non-zero word, without branches: the verifier sees one path
 * (no state per bit pattern) and the CPU has nothing to mispredict.
 */
static __always_inline __u32 high_bit(__u32 x)
{
	__u64 v = x, t;
	__u32 r, s;

	t = 0xffffULL - v; opaque(t); r = (__u32)(t >> 63) << 4; v >>= r;
	t = 0xffULL - v; opaque(t); s = (__u32)(t >> 63) << 3; v >>= s; r |= s;
	t = 0xfULL - v; opaque(t); s = (__u32)(t >> 63) << 2; v >>= s; r |= s;
	t = 0x3ULL - v; opaque(t); s = (__u32)(t >> 63) << 1; v >>= s; r |= s;
	return r | (__u32)(v >> 1);
}

/* the highest set bit of a non-zero mask, cleared from it: loops visit the set bits top down */
static __always_inline __u32 pop_high_bit(__u32 *mask)
{
	__u32 bit = high_bit(*mask) & 31;

	*mask &= ~(1u << bit);
	return bit;
}

/* network-order mask of the first `bits` bits (0..32) of a 32-bit word */
static __always_inline __be32 mask_be32(__s32 bits)
{
	if (bits >= 32)
		return 0xffffffffu;
	if (bits <= 0)
		return 0;
	return bpf_htonl(~0u << (32 - bits));
}

/*
 * The rule for an IPv4 source within one bucket or sub cell: its single long rule checked in
 * place, or the long lengths present probed longest first (the loop visits the set bits of the
 * mask from the top), else the precomputed covering rule.
 */
static __always_inline __u32 resolve_v4(__be32 src_be, __u32 mask, __u32 long_min, __u32 only,
					__u32 fallback)
{
	struct tcnh_v4_key key;
	__u32 *slot;
	int i;

	if (only) {
		struct tcnh_rule *r = bpf_map_lookup_elem(&tcnh_rules, &only);

		if (r && r->nh_family == TCNH_AF_INET &&
		    (src_be & mask_be32(r->src_prefixlen)) == r->src_addr_be[0])
			return only;
		return fallback;
	}
	for (i = 0; i < 16 && mask; i++) {
		key.prefixlen = long_min + pop_high_bit(&mask);
		key.addr_be = src_be & mask_be32(key.prefixlen);
		slot = bpf_map_lookup_elem(&tcnh_v4_pfx, &key);
		if (slot)
			return *slot;
	}
	return fallback;
}

static __always_inline __u32 lookup_v4(__be32 src_be)
{
	__u32 host = bpf_ntohl(src_be);
	__u32 idx = host >> (32 - TCNH_V4_BUCKET_BITS);
	struct tcnh_v4_bucket *b = bpf_map_lookup_elem(&tcnh_v4_bkt, &idx);

	if (!b)
		return TCNH_SLOT_NONE;
	if (b->sub) {
		__u32 cell = (b->sub - 1) * TCNH_V4_SUB_CELLS + ((host >> 8) & 0xff);
		struct tcnh_v4_sub_cell *c = bpf_map_lookup_elem(&tcnh_v4_sub, &cell);

		if (!c)
			return TCNH_SLOT_NONE;
		return resolve_v4(src_be, c->long_mask, TCNH_V4_SUB_LONG_MIN, c->only_slot,
				  c->fallback_slot);
	}
	return resolve_v4(src_be, b->long_mask, TCNH_V4_LONG_MIN, b->only_slot, b->fallback_slot);
}

static __always_inline void mask_v6(__be32 *out, const __be32 *src, __u32 len)
{
	out[0] = src[0] & mask_be32(len);
	out[1] = src[1] & mask_be32((__s32)len - 32);
	out[2] = src[2] & mask_be32((__s32)len - 64);
	out[3] = src[3] & mask_be32((__s32)len - 96);
}

static __always_inline __u32 probe_v6(const __be32 *src, __u32 len)
{
	struct tcnh_v6_key key;
	__u32 *slot;

	key.prefixlen = len;
	mask_v6(key.addr_be, src, len);
	slot = bpf_map_lookup_elem(&tcnh_v6_pfx, &key);
	return slot ? *slot : TCNH_SLOT_NONE;
}

/* the bucket's single long rule, when its own source prefix holds the address */
static __always_inline __u32 only_v6(const __be32 *src, __u32 only)
{
	struct tcnh_rule *r = bpf_map_lookup_elem(&tcnh_rules, &only);
	__be32 m[4];

	if (!r || r->nh_family != TCNH_AF_INET6)
		return TCNH_SLOT_NONE;
	mask_v6(m, src, r->src_prefixlen);
	if (m[0] != r->src_addr_be[0] || m[1] != r->src_addr_be[1] || m[2] != r->src_addr_be[2] ||
	    m[3] != r->src_addr_be[3])
		return TCNH_SLOT_NONE;
	return only;
}

static __always_inline __u32 lookup_v6(const __be32 *src)
{
	__u32 idx = TCNH_V6_BUCKET_OF(bpf_ntohl(src[0]));
	struct tcnh_v6_bucket *b = bpf_map_lookup_elem(&tcnh_v6_bkt, &idx);
	__u32 zero = 0, slot;
	int w, i;

	if (!b)
		return TCNH_SLOT_NONE;
	if (b->only_slot) {
		slot = only_v6(src, b->only_slot);
		if (slot)
			return slot;
		goto short_lengths;
	}
	for (w = TCNH_V6_LONG_WORDS - 1; w >= 0; w--) {
		__u32 mask = b->long_mask[w];

		for (i = 0; i < 32 && mask; i++) {
			slot = probe_v6(src, TCNH_V6_LONG_MIN + 32 * w + pop_high_bit(&mask));
			if (slot)
				return slot;
		}
	}

short_lengths:;
	struct tcnh_v6_short *s = bpf_map_lookup_elem(&tcnh_v6_short, &zero);
	__u64 lens;

	if (!s)
		return TCNH_SLOT_NONE;
	if (s->only_slot)
		return only_v6(src, s->only_slot);
	lens = s->len_mask;
	for (i = 0; i < 33 && lens; i++) {
		/* lengths 0..32: bit 32 is checked apart, the rest fits high_bit */
		__u32 len = (lens >> 32) ? 32 : high_bit((__u32)lens) & 31;

		lens &= ~(1ull << len);
		slot = probe_v6(src, len);
		if (slot)
			return slot;
	}
	return TCNH_SLOT_NONE;
}

SEC("tc")
int tc_nexthop(struct __sk_buff *skb)
{
	const __be32 *src;
	__u32 slot;

	switch (l3_source(skb, &src)) {
	case L3_IPV4:
		slot = lookup_v4(src[0]);
		break;
	case L3_IPV6:
		slot = lookup_v6(src);
		break;
	default:
		return TC_ACT_OK;
	}
	return tcnh_redirect(skb, slot);
}

char LICENSE[] SEC("license") = "GPL";
