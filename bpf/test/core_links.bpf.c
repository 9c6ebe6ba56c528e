// SPDX-License-Identifier: GPL-2.0
/* Fixture programs for core-bpf's link tests: one tiny program per attach point, each counting what
 * it sees in `counters` (slots in core_links.h) and letting the traffic through. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "core_links.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CL_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* skb->mark values seen by the cgroup_skb programs, with how often. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} egress_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} ingress_marks SEC(".maps");

/* steer_sockets[0] is the listener that sk_lookup_steer hands connections for CL_SK_LOOKUP_PORT to. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} steer_sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct core_links_redirect);
} connect_redirect SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void record_mark(void *map, __u32 mark)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, &mark);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, &mark, &one, BPF_NOEXIST);
}

SEC("tc")
int tc_count_ingress(struct __sk_buff *skb)
{
	bump(CL_TC_INGRESS);
	return TC_ACT_OK;
}

SEC("tc")
int tc_count_egress(struct __sk_buff *skb)
{
	bump(CL_TC_EGRESS);
	return TC_ACT_OK;
}

SEC("tc")
int tc_count_alt(struct __sk_buff *skb)
{
	bump(CL_TC_ALT);
	return TC_ACT_OK;
}

SEC("sk_lookup")
int sk_lookup_steer(struct bpf_sk_lookup *ctx)
{
	__u32 key = 0;
	struct bpf_sock *sk;
	long err;

	bump(CL_SK_LOOKUP);
	if (ctx->protocol != IPPROTO_TCP || ctx->local_port != CL_SK_LOOKUP_PORT)
		return SK_PASS;
	sk = bpf_map_lookup_elem(&steer_sockets, &key);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (!err)
		bump(CL_SK_LOOKUP_ASSIGNED);
	return SK_PASS;
}

SEC("cgroup_skb/ingress")
int cg_skb_ingress(struct __sk_buff *skb)
{
	bump(CL_CG_INGRESS);
	record_mark(&ingress_marks, skb->mark);
	return 1;
}

SEC("cgroup_skb/egress")
int cg_skb_egress(struct __sk_buff *skb)
{
	bump(CL_CG_EGRESS);
	record_mark(&egress_marks, skb->mark);
	return 1;
}

SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx)
{
	__u32 key = 0;
	struct core_links_redirect *r;

	bump(CL_CONNECT4);
	r = bpf_map_lookup_elem(&connect_redirect, &key);
	if (r && r->from_port && ctx->user_port == r->from_port) {
		ctx->user_port = r->to_port;
		bump(CL_CONNECT4_REWRITE);
	}
	return 1;
}

SEC("sockops")
int sockops_count(struct bpf_sock_ops *ops)
{
	bump(CL_SOCKOPS);
	if (ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ||
	    ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		bump(CL_SOCKOPS_ESTAB);
	return 1;
}
