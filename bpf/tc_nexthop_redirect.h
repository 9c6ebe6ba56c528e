/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last step of tc_nexthop, shared with its LPM_TRIE benchmark baseline
 * (bench_lpm_nexthop.bpf.c) so both do exactly the same work once a rule slot is found: the
 * rule table (tcnh_rules), the per-rule counters (tcnh_counters) and tcnh_redirect(), which
 * counts the packet and hands it to bpf_redirect_neigh. Layouts: see tc_nexthop.h.
 */
#ifndef TC_NEXTHOP_REDIRECT_H
#define TC_NEXTHOP_REDIRECT_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bpf_map_def.h"
#include "tc_nexthop.h"

/* the tail of struct tcnh_rule is handed to bpf_redirect_neigh as a struct bpf_redir_neigh */
_Static_assert(__builtin_offsetof(struct tcnh_rule, nh_addr_be) -
			       __builtin_offsetof(struct tcnh_rule, nh_family) ==
		       __builtin_offsetof(struct bpf_redir_neigh, ipv4_nh),
	       "tcnh_rule next hop matches bpf_redir_neigh");
_Static_assert(__builtin_offsetof(struct tcnh_rule, src_prefixlen) -
			       __builtin_offsetof(struct tcnh_rule, nh_family) ==
		       sizeof(struct bpf_redir_neigh),
	       "tcnh_rule next hop size matches bpf_redir_neigh");

BPF_MAP_DEFINE(tcnh_rules, BPF_MAP_TYPE_ARRAY, __u32, struct tcnh_rule, TCNH_MAX_RULES + 1);
BPF_MAP_DEFINE(tcnh_counters, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct tcnh_counter, TCNH_MAX_RULES + 1);

/*
 * Sends the packet towards rule `slot`'s next hop. No rule (TCNH_SLOT_NONE), an empty slot, or a
 * rule pointing at the interface the packet already leaves through (the filter may be attached
 * there too: redirecting would loop) leaves the packet alone.
 */
static __always_inline int tcnh_redirect(struct __sk_buff *skb, __u32 slot)
{
	struct tcnh_counter *cnt;
	struct tcnh_rule *rule;

	if (slot == TCNH_SLOT_NONE)
		return TC_ACT_OK;
	rule = bpf_map_lookup_elem(&tcnh_rules, &slot);
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

#endif /* TC_NEXTHOP_REDIRECT_H */
