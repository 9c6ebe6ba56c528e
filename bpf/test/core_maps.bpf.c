// SPDX-License-Identifier: GPL-2.0
/* Fixture for core-bpf: every map kind the typed maps support, and a tc classifier whose return
 * value depends on map contents (BPF_PROG_TEST_RUN and real traffic prove what user space wrote):
 * it counts packets, records IPv4 UDP/TCP flows, and returns the action of the longest-prefix route
 * for the destination, or the .rodata default. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "core_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 256);
	__type(key, struct core_v4_lpm_key);
	__type(value, struct core_route);
} core_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct core_flow_key);
	__type(value, __u64);
} core_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} core_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} core_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct core_route);
} core_percpu_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, __u32);
} core_pinned SEC(".maps");

/* Set from user space before load (the .rodata map). */
const volatile __u32 core_default_action = CORE_ACTION_DEFAULT;
/* Written by the program (the .bss map). */
__u64 core_last_cookie = 0;

SEC("tc")
int core_classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct core_v4_lpm_key key = { .prefixlen = 32 };
	struct core_route *route;
	__u32 slot = 0;
	__u64 *count;

	count = bpf_map_lookup_elem(&core_counters, &slot);
	if (count)
		*count += 1;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return core_default_action;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return core_default_action;

	if (ip->ihl == 5 && (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP)) {
		__be16 *ports = (void *)(ip + 1);
		struct core_flow_key flow = {};
		__u64 one = 1, *seen;

		if ((void *)(ports + 2) > data_end)
			return core_default_action;
		flow.saddr = ip->saddr;
		flow.daddr = ip->daddr;
		flow.sport = ports[0];
		flow.dport = ports[1];
		flow.proto = ip->protocol;
		seen = bpf_map_lookup_elem(&core_flows, &flow);
		if (seen)
			__sync_fetch_and_add(seen, 1);
		else
			bpf_map_update_elem(&core_flows, &flow, &one, BPF_NOEXIST);
	}

	key.addr = ip->daddr;
	route = bpf_map_lookup_elem(&core_routes, &key);
	if (!route)
		return core_default_action;
	core_last_cookie = route->cookie;
	return route->action;
}

/* Returns the value stored at index 0 of core_config (truncated to 32 bits). */
SEC("tc")
int core_config_echo(struct __sk_buff *skb)
{
	__u32 slot = 0;
	__u64 *value = bpf_map_lookup_elem(&core_config, &slot);

	return value ? (int)*value : -1;
}

char _license[] SEC("license") = "GPL";
