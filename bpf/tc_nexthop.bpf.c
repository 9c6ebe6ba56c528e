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
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tc_nexthop.h"

_Static_assert(sizeof(struct tcnh_v4_key) == 8, "tcnh_v4_key layout");
_Static_assert(sizeof(struct tcnh_v6_key) == 20, "tcnh_v6_key layout");
_Static_assert(sizeof(struct tcnh_rule) == 24, "tcnh_rule layout");
_Static_assert(sizeof(struct tcnh_counter) == 16, "tcnh_counter layout");
_Static_assert(sizeof(struct tcnh_v4_bucket) == 8, "tcnh_v4_bucket layout");
_Static_assert(sizeof(struct tcnh_v6_bucket) == 16, "tcnh_v6_bucket layout");
_Static_assert(sizeof(struct tcnh_v6_short) == 8, "tcnh_v6_short layout");
/* the tail of struct tcnh_rule is handed to bpf_redirect_neigh as a struct bpf_redir_neigh */
_Static_assert(__builtin_offsetof(struct tcnh_rule, nh_addr_be) -
			       __builtin_offsetof(struct tcnh_rule, nh_family) ==
		       __builtin_offsetof(struct bpf_redir_neigh, ipv4_nh),
	       "tcnh_rule next hop matches bpf_redir_neigh");
_Static_assert(sizeof(struct tcnh_rule) - __builtin_offsetof(struct tcnh_rule, nh_family) ==
		       sizeof(struct bpf_redir_neigh),
	       "tcnh_rule next hop size matches bpf_redir_neigh");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCNH_MAX_RULES);
	__type(key, struct tcnh_v4_key);
	__type(value, __u32);
} tcnh_v4_pfx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCNH_MAX_RULES);
	__type(key, struct tcnh_v6_key);
	__type(value, __u32);
} tcnh_v6_pfx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCNH_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, struct tcnh_rule);
} tcnh_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCNH_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, struct tcnh_counter);
} tcnh_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCNH_V4_BUCKETS);
	__type(key, __u32);
	__type(value, struct tcnh_v4_bucket);
} tcnh_v4_bkt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCNH_MAX_RULES);
	__type(key, __be32);
	__type(value, struct tcnh_v6_bucket);
} tcnh_v6_bkt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcnh_v6_short);
} tcnh_v6_short SEC(".maps");

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
 * The loops below walk bit positions from the top with a fixed counter and never modify the
 * mask: the verifier then sees one state per iteration instead of one per mask pattern. They
 * stop as soon as no lower bit is left.
 */
static __always_inline __u32 lookup_v4(__be32 src_be)
{
	__u32 idx = bpf_ntohl(src_be) >> (32 - TCNH_V4_BUCKET_BITS);
	struct tcnh_v4_bucket *b = bpf_map_lookup_elem(&tcnh_v4_bkt, &idx);
	struct tcnh_v4_key key;
	__u32 mask, *slot;
	int bit;

	if (!b)
		return TCNH_SLOT_NONE;
	mask = b->long_mask;
	for (bit = 32 - TCNH_V4_LONG_MIN; bit >= 0; bit--) {
		if (!(mask & ((2u << bit) - 1)))
			break;
		if (!(mask & (1u << bit)))
			continue;
		key.prefixlen = TCNH_V4_LONG_MIN + bit;
		key.addr_be = src_be & mask_be32(key.prefixlen);
		slot = bpf_map_lookup_elem(&tcnh_v4_pfx, &key);
		if (slot)
			return *slot;
	}
	return b->fallback_slot;
}

static __always_inline __u32 probe_v6(const __be32 *src, __u32 len)
{
	struct tcnh_v6_key key;
	__u32 *slot;

	key.prefixlen = len;
	key.addr_be[0] = src[0] & mask_be32(len);
	key.addr_be[1] = src[1] & mask_be32((__s32)len - 32);
	key.addr_be[2] = src[2] & mask_be32((__s32)len - 64);
	key.addr_be[3] = src[3] & mask_be32((__s32)len - 96);
	slot = bpf_map_lookup_elem(&tcnh_v6_pfx, &key);
	return slot ? *slot : TCNH_SLOT_NONE;
}

static __always_inline __u32 lookup_v6(const __be32 *src)
{
	struct tcnh_v6_bucket *b = bpf_map_lookup_elem(&tcnh_v6_bkt, &src[0]);
	__u32 zero = 0, slot;
	int w, bit;

	if (b) {
		for (w = TCNH_V6_LONG_WORDS - 1; w >= 0; w--) {
			__u32 mask = b->long_mask[w];

			for (bit = 31; bit >= 0; bit--) {
				if (!(mask & ((2u << bit) - 1)))
					break;
				if (!(mask & (1u << bit)))
					continue;
				slot = probe_v6(src, TCNH_V6_LONG_MIN + 32 * w + bit);
				if (slot)
					return slot;
			}
		}
		return b->fallback_slot;
	}

	struct tcnh_v6_short *s = bpf_map_lookup_elem(&tcnh_v6_short, &zero);
	__u64 lens;

	if (!s)
		return TCNH_SLOT_NONE;
	lens = s->len_mask;
	for (bit = 32; bit >= 0; bit--) {
		if (!(lens & ((2ull << bit) - 1)))
			break;
		if (!(lens & (1ull << bit)))
			continue;
		slot = probe_v6(src, bit);
		if (slot)
			return slot;
	}
	return TCNH_SLOT_NONE;
}

SEC("tc")
int tc_nexthop(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct tcnh_counter *cnt;
	struct tcnh_rule *rule;
	__u32 slot;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > data_end)
			return TC_ACT_OK;
		slot = lookup_v4(ip->saddr);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 1) > data_end)
			return TC_ACT_OK;
		slot = lookup_v6(ip6->saddr.in6_u.u6_addr32);
	} else {
		return TC_ACT_OK;
	}
	if (slot == TCNH_SLOT_NONE)
		return TC_ACT_OK;

	rule = bpf_map_lookup_elem(&tcnh_rules, &slot);
	/*
	 * An empty slot, or a rule pointing at the interface the packet already leaves through
	 * (the filter may be attached there too: redirecting would loop), leaves the packet alone.
	 */
	if (!rule || rule->nh_family == 0 || rule->ifindex == skb->ifindex)
		return TC_ACT_OK;

	cnt = bpf_map_lookup_elem(&tcnh_counters, &slot);
	if (cnt) {
		cnt->packets++;
		cnt->bytes += skb->len;
	}
	return bpf_redirect_neigh(rule->ifindex, (struct bpf_redir_neigh *)&rule->nh_family,
				  sizeof(struct bpf_redir_neigh), 0);
}

char LICENSE[] SEC("license") = "GPL";
