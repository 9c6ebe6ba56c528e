/* SPDX-License-Identifier: Apache-2.0 */
/*
 * l3_source: where the source address of an Ethernet IPv4/IPv6 packet lies, for tc programs.
 *
 * l3_source(skb, &src) returns L3_IPV4 or L3_IPV6 and points src at the source address inside
 * the packet (1 or 4 words, network order, already checked against data_end), or L3_NONE for
 * any other EtherType (ARP, a VLAN tag: not parsed) and for a packet too short for its IP header.
 * Always inlined: callers switch on the result and the compiler folds the switch into the
 * EtherType tests, so the helper costs nothing over open-coded parsing.
 */
#ifndef L3_SOURCE_H
#define L3_SOURCE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define L3_NONE 0
#define L3_IPV4 4
#define L3_IPV6 6

static __always_inline int l3_source(const struct __sk_buff *skb, const __be32 **src)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > data_end)
			return L3_NONE;
		*src = &ip->saddr;
		return L3_IPV4;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 1) > data_end)
			return L3_NONE;
		*src = ip6->saddr.in6_u.u6_addr32;
		return L3_IPV6;
	}
	return L3_NONE;
}

#endif /* L3_SOURCE_H */
