// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark baseline only (not shipped): the same semantics as tc_nexthop.bpf.c with plain
 * BPF_MAP_TYPE_LPM_TRIE maps keyed by source prefix. The packet parsing (l3_source.h) and the
 * final step (tc_nexthop_redirect.h: tcnh_rules, tcnh_counters, tcnh_redirect) are the ones
 * tc_nexthop uses, so the two programs differ only in the prefix lookup.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bpf_map_def.h"
#include "l3_source.h"
#include "tc_nexthop.h"
#include "tc_nexthop_redirect.h"

/* LPM_TRIE keys: prefixlen first, then the address in network order */
struct lpm_v4_key {
	__u32 prefixlen;
	__be32 addr_be;
};

struct lpm_v6_key {
	__u32 prefixlen;
	__be32 addr_be[4];
};

BPF_MAP_DEFINE_FLAGS(lpm_v4, BPF_MAP_TYPE_LPM_TRIE, struct lpm_v4_key, __u32, TCNH_MAX_RULES,
		     BPF_F_NO_PREALLOC);
BPF_MAP_DEFINE_FLAGS(lpm_v6, BPF_MAP_TYPE_LPM_TRIE, struct lpm_v6_key, __u32, TCNH_MAX_RULES,
		     BPF_F_NO_PREALLOC);

SEC("tc")
int bench_lpm_nexthop(struct __sk_buff *skb)
{
	struct lpm_v4_key key4;
	struct lpm_v6_key key6;
	const __be32 *src;
	__u32 *slot;

	switch (l3_source(skb, &src)) {
	case L3_IPV4:
		key4.prefixlen = 32;
		key4.addr_be = src[0];
		slot = bpf_map_lookup_elem(&lpm_v4, &key4);
		break;
	case L3_IPV6:
		key6.prefixlen = 128;
		__builtin_memcpy(key6.addr_be, src, sizeof(key6.addr_be));
		slot = bpf_map_lookup_elem(&lpm_v6, &key6);
		break;
	default:
		return TC_ACT_OK;
	}
	return slot ? tcnh_redirect(skb, *slot) : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
