// SPDX-License-Identifier: Apache-2.0
/*
 * Connect-time redirect of TCP connections to a local tunnel listener, with the original
 * destination answered through getsockopt(SO_ORIGINAL_DST) as iptables REDIRECT users expect.
 * Maps, steps and what is never redirected: connect_redirect.h.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf_map_def.h"
#include "ipv4_mapped.h"
#include "connect_redirect.h"

char LICENSE[] SEC("license") = "GPL";

#define CR_AF_INET 2
#define CR_AF_INET6 10
#define CR_SOCK_STREAM 1
#define CR_TCP_CLOSE 7

/* a load the compiler must do as written (never turned into a load through a chosen pointer, which
 * the verifier refuses for context and socket pointers) */
#define READ_ONCE_U32(x) (*(volatile __u32 *)&(x))

_Static_assert(sizeof(struct cr_rule_key) == 20, "cr_rule_key layout");
_Static_assert(sizeof(struct cr_port_range) == 8, "cr_port_range layout");
_Static_assert(sizeof(struct cr_rule_value) == 4 + 8 * CR_MAX_RANGES, "cr_rule_value layout");
_Static_assert(sizeof(struct cr_config) == 40, "cr_config layout");
_Static_assert(sizeof(struct cr_origdst) == 20, "cr_origdst layout");
_Static_assert(sizeof(struct cr_conn_key) == 20, "cr_conn_key layout");
_Static_assert(sizeof(struct cr_stats) == 72, "cr_stats layout");
_Static_assert(sizeof(struct cr_rule_stats) == 16, "cr_rule_stats layout");

BPF_MAP_DEFINE_FLAGS(cr_rules, BPF_MAP_TYPE_LPM_TRIE, struct cr_rule_key, struct cr_rule_value, CR_RULES_MAX_ENTRIES,
		     BPF_F_NO_PREALLOC);
BPF_MAP_DEFINE(cr_config, BPF_MAP_TYPE_ARRAY, __u32, struct cr_config, 1);
BPF_MAP_DEFINE(cr_origdst, BPF_MAP_TYPE_LRU_HASH, struct cr_conn_key, struct cr_origdst, CR_ORIGDST_MAX_ENTRIES);
BPF_MAP_DEFINE(cr_stats, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct cr_stats, 1);
BPF_MAP_DEFINE(cr_rule_stats, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct cr_rule_stats, CR_MAX_RULES);

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cr_origdst);
} cr_sk_origdst SEC(".maps");

static __always_inline struct cr_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cr_stats, &zero);
}

/* The action of the first port range of the longest matching prefix holding `port` (host order). */
static __always_inline int decide(const __be32 *addr, __u16 port)
{
	struct cr_rule_key key = { .prefixlen = 128 };
	struct cr_rule_value *rules;
	struct cr_rule_stats *rs;
	__u32 i, rule;

	__builtin_memcpy(key.addr_be, addr, sizeof(key.addr_be));
	rules = bpf_map_lookup_elem(&cr_rules, &key);
	if (!rules)
		return CR_ACTION_DIRECT;
	for (i = 0; i < CR_MAX_RANGES; i++) {
		if (i >= rules->count)
			break;
		if (port < rules->ranges[i].port_lo || port > rules->ranges[i].port_hi)
			continue;
		rule = rules->ranges[i].rule;
		rs = bpf_map_lookup_elem(&cr_rule_stats, &rule);
		if (rs) {
			if (rules->ranges[i].action == CR_ACTION_REDIRECT)
				rs->redirected++;
			else
				rs->direct++;
		}
		return rules->ranges[i].action;
	}
	return CR_ACTION_DIRECT;
}

/* Whether this socket's own connects are never redirected: the tunnel's mark or cgroup. */
static __always_inline int bypassed(struct bpf_sock_addr *ctx, const struct cr_config *cfg)
{
	struct bpf_sock *sk = ctx->sk;

	if (cfg->bypass_cgroup_id && bpf_get_current_cgroup_id() == cfg->bypass_cgroup_id)
		return 1;
	if (cfg->bypass_mark_mask && sk && (sk->mark & cfg->bypass_mark_mask) == cfg->bypass_mark)
		return 1;
	return 0;
}

/*
 * The common part of connect4/connect6: `dst` (IPv6 or IPv4-mapped) and `port_be` are the
 * destination, `target` the listener of its family; 1 when the connect is to be redirected (the
 * original destination is then kept on the socket).
 */
static __always_inline int redirect(struct bpf_sock_addr *ctx, const struct cr_config *cfg, const __be32 *dst,
				    __be16 port_be, const __be32 *target, __be16 target_port_be, __u16 family)
{
	struct cr_stats *st = stats();
	struct cr_origdst *orig;

	if (st)
		st->connects++;
	if (!target_port_be)
		goto direct;
	if (port_be == target_port_be && dst[0] == target[0] && dst[1] == target[1] && dst[2] == target[2] &&
	    dst[3] == target[3])
		goto bypass;
	if (bypassed(ctx, cfg))
		goto bypass;
	if (decide(dst, bpf_ntohs(port_be)) != CR_ACTION_REDIRECT)
		goto direct;
	if (!ctx->sk)
		goto no_storage;
	orig = bpf_sk_storage_get(&cr_sk_origdst, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!orig)
		goto no_storage;
	__builtin_memcpy(orig->addr_be, dst, sizeof(orig->addr_be));
	orig->port_be = port_be;
	orig->family = family;
	if (st)
		st->redirected++;
	return 1;
bypass:
	if (st)
		st->bypassed++;
	return 0;
no_storage:
	if (st)
		st->no_storage++;
	return 0;
direct:
	if (st)
		st->direct++;
	return 0;
}

static __always_inline const struct cr_config *config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cr_config, &zero);
}

SEC("cgroup/connect4")
int cr_connect4(struct bpf_sock_addr *ctx)
{
	const struct cr_config *cfg = config();
	__be32 dst[4], target[4];

	if (!cfg || ctx->type != CR_SOCK_STREAM)
		return 1;
	ipv4_mapped(dst, ctx->user_ip4);
	ipv4_mapped(target, cfg->target4_be);
	if (redirect(ctx, cfg, dst, (__be16)ctx->user_port, target, cfg->target4_port_be, CR_AF_INET)) {
		ctx->user_ip4 = cfg->target4_be;
		ctx->user_port = cfg->target4_port_be;
	}
	return 1;
}

SEC("cgroup/connect6")
int cr_connect6(struct bpf_sock_addr *ctx)
{
	const struct cr_config *cfg = config();
	__be32 dst[4], target[4];
	__be16 target_port;
	int mapped;

	if (!cfg || ctx->type != CR_SOCK_STREAM)
		return 1;
	dst[0] = ctx->user_ip6[0];
	dst[1] = ctx->user_ip6[1];
	dst[2] = ctx->user_ip6[2];
	dst[3] = ctx->user_ip6[3];
	/* a dual-stack socket connecting to an IPv4 address goes to the IPv4 listener, IPv4-mapped */
	mapped = is_ipv4_mapped(dst);
	if (mapped) {
		ipv4_mapped(target, cfg->target4_be);
		target_port = cfg->target4_port_be;
	} else {
		__builtin_memcpy(target, cfg->target6_be, sizeof(target));
		target_port = cfg->target6_port_be;
	}
	if (redirect(ctx, cfg, dst, (__be16)ctx->user_port, target, target_port, mapped ? CR_AF_INET : CR_AF_INET6)) {
		ctx->user_ip6[0] = target[0];
		ctx->user_ip6[1] = target[1];
		ctx->user_ip6[2] = target[2];
		ctx->user_ip6[3] = target[3];
		ctx->user_port = target_port;
	}
	return 1;
}

/*
 * The client side of a socket as its peer sees it: its source address (IPv4-mapped for IPv4) and
 * port. Every field is read unconditionally: the verifier refuses a context pointer the compiler
 * moved to pick one field or the other.
 */
static __always_inline void client_key(struct bpf_sock_ops *skops, struct cr_conn_key *key)
{
	__u32 family = READ_ONCE_U32(skops->family), port = READ_ONCE_U32(skops->local_port);
	__be32 ip4 = READ_ONCE_U32(skops->local_ip4);
	__be32 a0 = READ_ONCE_U32(skops->local_ip6[0]), a1 = READ_ONCE_U32(skops->local_ip6[1]);
	__be32 a2 = READ_ONCE_U32(skops->local_ip6[2]), a3 = READ_ONCE_U32(skops->local_ip6[3]);

	__builtin_memset(key, 0, sizeof(*key));
	if (family == CR_AF_INET) {
		ipv4_mapped(key->addr_be, ip4);
	} else {
		key->addr_be[0] = a0;
		key->addr_be[1] = a1;
		key->addr_be[2] = a2;
		key->addr_be[3] = a3;
	}
	key->port_be = bpf_htons((__u16)port);
}

SEC("sockops")
int cr_sockops(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;
	struct cr_conn_key key;
	struct cr_origdst *orig;
	struct cr_stats *st;
	struct bpf_sock *sk;

	if (op == BPF_SOCK_OPS_STATE_CB) {
		if (skops->args[1] != CR_TCP_CLOSE)
			return 1;
	} else if (op != BPF_SOCK_OPS_TCP_CONNECT_CB) {
		return 1;
	}
	/* one place that reads the addresses (see client_key) */
	client_key(skops, &key);
	if (op == BPF_SOCK_OPS_STATE_CB) {
		bpf_map_delete_elem(&cr_origdst, &key);
		return 1;
	}
	sk = skops->sk;
	if (!sk)
		return 1;
	orig = bpf_sk_storage_get(&cr_sk_origdst, sk, 0, 0);
	if (!orig)
		return 1;
	st = stats();
	if (bpf_map_update_elem(&cr_origdst, &key, orig, BPF_ANY)) {
		if (st)
			st->record_failed++;
		return 1;
	}
	if (st)
		st->recorded++;
	/* to remove the record when the socket closes */
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	return 1;
}

SEC("cgroup/getsockopt")
int cr_getsockopt(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct cr_conn_key key = {};
	struct cr_origdst *orig;
	struct cr_stats *st;

	__u32 family, level = ctx->level;
	__be32 ip4, a0, a1, a2, a3;
	__be16 port_be;

	if (ctx->optname != CR_SO_ORIGINAL_DST || !sk)
		return 1;
	/* read unconditionally (see client_key) */
	family = READ_ONCE_U32(sk->family);
	ip4 = READ_ONCE_U32(sk->dst_ip4);
	a0 = READ_ONCE_U32(sk->dst_ip6[0]);
	a1 = READ_ONCE_U32(sk->dst_ip6[1]);
	a2 = READ_ONCE_U32(sk->dst_ip6[2]);
	a3 = READ_ONCE_U32(sk->dst_ip6[3]);
	port_be = sk->dst_port;
	if (!(level == CR_SOL_IP && family == CR_AF_INET) && !(level == CR_SOL_IPV6 && family == CR_AF_INET6))
		return 1;
	if (family == CR_AF_INET) {
		ipv4_mapped(key.addr_be, ip4);
	} else {
		key.addr_be[0] = a0;
		key.addr_be[1] = a1;
		key.addr_be[2] = a2;
		key.addr_be[3] = a3;
	}
	key.port_be = port_be;
	st = stats();
	orig = bpf_map_lookup_elem(&cr_origdst, &key);
	if (!orig) {
		if (st)
			st->origdst_unknown++;
		return 1;
	}
	if (family == CR_AF_INET) {
		struct sockaddr_in *sa = ctx->optval;

		if ((void *)(sa + 1) > ctx->optval_end || orig->family != CR_AF_INET)
			return 1;
		__builtin_memset(sa, 0, sizeof(*sa));
		sa->sin_family = CR_AF_INET;
		sa->sin_port = orig->port_be;
		sa->sin_addr.s_addr = orig->addr_be[3];
		ctx->optlen = sizeof(*sa);
	} else {
		struct sockaddr_in6 *sa6 = ctx->optval;

		if ((void *)(sa6 + 1) > ctx->optval_end)
			return 1;
		__builtin_memset(sa6, 0, sizeof(*sa6));
		sa6->sin6_family = CR_AF_INET6;
		sa6->sin6_port = orig->port_be;
		__builtin_memcpy(&sa6->sin6_addr, orig->addr_be, sizeof(orig->addr_be));
		ctx->optlen = sizeof(*sa6);
	}
	ctx->retval = 0;
	if (st)
		st->origdst_answered++;
	return 1;
}
