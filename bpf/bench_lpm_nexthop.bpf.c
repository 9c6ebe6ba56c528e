// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark baseline only (not shipped): the same semantics as tc_nexthop.bpf.c with plain
 * BPF_MAP_TYPE_LPM_TRIE maps keyed by source prefix.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tc_nexthop.h"

/* LPM_TRIE keys: prefixlen first, then the address in network order */
struct lpm_v4_key {
	__u32 prefixlen;
	__be32 addr_be;
};

struct lpm_v6_key {
	__u32 prefixlen;
	__be32 addr_be[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TCNH_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} lpm_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TCNH_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6_key);
	__type(value, __u32);
} lpm_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCNH_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, struct tcnh_rule);
} lpm_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCNH_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, struct tcnh_counter);
} lpm_counters SEC(".maps");

SEC("tc")
int bench_lpm_nexthop(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct tcnh_counter *cnt;
	struct tcnh_rule *rule;
	__u32 *slotp, slot;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + ETH_HLEN;
		struct lpm_v4_key key;

		if ((void *)(ip + 1) > data_end)
			return TC_ACT_OK;
		key.prefixlen = 32;
		key.addr_be = ip->saddr;
		slotp = bpf_map_lookup_elem(&lpm_v4, &key);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + ETH_HLEN;
		struct lpm_v6_key key;

		if ((void *)(ip6 + 1) > data_end)
			return TC_ACT_OK;
		key.prefixlen = 128;
		__builtin_memcpy(key.addr_be, ip6->saddr.in6_u.u6_addr32, 16);
		slotp = bpf_map_lookup_elem(&lpm_v6, &key);
	} else {
		return TC_ACT_OK;
	}
	if (!slotp)
		return TC_ACT_OK;
	slot = *slotp;
	rule = bpf_map_lookup_elem(&lpm_rules, &slot);
	if (!rule || rule->nh_family == 0 || rule->ifindex == skb->ifindex)
		return TC_ACT_OK;
	cnt = bpf_map_lookup_elem(&lpm_counters, &slot);
	if (cnt) {
		cnt->packets++;
		cnt->bytes += skb->len;
	}
	return bpf_redirect_neigh(rule->ifindex, (struct bpf_redir_neigh *)&rule->nh_family,
				  sizeof(struct bpf_redir_neigh), 0);
}

char LICENSE[] SEC("license") = "GPL";
