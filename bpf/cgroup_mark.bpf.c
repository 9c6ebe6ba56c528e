// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup_skb egress observer on the mesh proxy's cgroup: records the connections the proxy opens
 * with its packet mark in mesh_bypass, so that the sk_lookup divert (sk_lookup_mesh.bpf.c) lets
 * them reach the application instead of sending them back to the proxy. Steps: cgroup_mark.h.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf_map_def.h"
#include "ipv4_mapped.h"
#include "mesh_bypass.h"
#include "cgroup_mark.h"

char LICENSE[] SEC("license") = "GPL";

_Static_assert(sizeof(struct cgm_stats) == 32, "cgm_stats layout");

BPF_MAP_DEFINE(cgm_stats, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct cgm_stats, 1);

const volatile __u32 cgm_mark_value = CGM_INPOD_MARK;
const volatile __u32 cgm_mark_mask = CGM_INPOD_MASK;
const volatile __u32 cgm_local_only = 1;

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

/* the first bytes of a TCP header: ports, then the flags byte at offset 13 */
struct tcp_head {
	__be16 source;
	__be16 dest;
	__u8 skip[9];
	__u8 flags;
};

SEC("cgroup_skb/egress")
int cgroup_mark_egress(struct __sk_buff *skb)
{
	struct mesh_bypass_key key;
	struct mesh_bypass_value value;
	struct tcp_head tcp;
	struct cgm_stats *st;
	__u32 zero = 0, thoff;
	__u8 version;

	if ((skb->mark & cgm_mark_mask) != cgm_mark_value)
		return 1;
	if (bpf_skb_load_bytes(skb, 0, &version, 1))
		return 1;
	version >>= 4;
	if (version == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return 1;
		if (ip.protocol != IPPROTO_TCP || (ip.frag_off & bpf_htons(0x1fff)) || ip.ihl < 5)
			return 1;
		thoff = ip.ihl * 4;
		ipv4_mapped(key.remote_be, ip.saddr);
		ipv4_mapped(key.local_be, ip.daddr);
	} else if (version == 6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return 1;
		if (ip6.nexthdr != IPPROTO_TCP)
			return 1;
		thoff = sizeof(ip6);
		__builtin_memcpy(key.remote_be, ip6.saddr.in6_u.u6_addr32, sizeof(key.remote_be));
		__builtin_memcpy(key.local_be, ip6.daddr.in6_u.u6_addr32, sizeof(key.local_be));
	} else {
		return 1;
	}
	if (bpf_skb_load_bytes(skb, thoff & 0x3f, &tcp, sizeof(tcp)))
		return 1;
	if ((tcp.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
		return 1;

	st = bpf_map_lookup_elem(&cgm_stats, &zero);
	if (st)
		st->marked_syns++;
	if (cgm_local_only && skb->ifindex != CGM_LOOPBACK_IFINDEX) {
		if (st)
			st->not_local++;
		return 1;
	}
	key.remote_port_be = tcp.source;
	key.local_port_be = tcp.dest;
	value.seen_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&mesh_bypass, &key, &value, BPF_ANY)) {
		if (st)
			st->record_failed++;
	} else if (st) {
		st->recorded++;
	}
	return 1;
}
