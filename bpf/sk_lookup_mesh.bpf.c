// SPDX-License-Identifier: Apache-2.0
/*
 * sk_lookup divert for a transparent mesh (Istio ambient with transparent network policies):
 * a TCP connection to any port of a local workload whose source and destination are both mesh
 * members is handed to the proxy's HBONE listener of that workload, unless the port is in the
 * skip set or the connection is the proxy's own (mesh_bypass). Maps and steps: sk_lookup_mesh.h.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf_map_def.h"
#include "ipv4_mapped.h"
#include "mesh_bypass.h"
#include "sk_lookup_mesh.h"

char LICENSE[] SEC("license") = "GPL";

_Static_assert(sizeof(struct skl_addr) == 16, "skl_addr layout");
_Static_assert(sizeof(struct skl_counters) == 48, "skl_counters layout");

BPF_MAP_DEFINE(skl_members, BPF_MAP_TYPE_HASH, struct skl_addr, __u32, SKL_MAX_MEMBERS);
BPF_MAP_DEFINE(skl_sockets, BPF_MAP_TYPE_SOCKHASH, struct skl_addr, __u64, SKL_MAX_POD_ADDRS);
BPF_MAP_DEFINE(skl_pods, BPF_MAP_TYPE_HASH, struct skl_addr, __u32, SKL_MAX_POD_ADDRS);
BPF_MAP_DEFINE(skl_counters, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct skl_counters, SKL_MAX_PODS + 1);
BPF_MAP_DEFINE(skl_skip_ports, BPF_MAP_TYPE_ARRAY, __u32, __u64, SKL_SKIP_WORDS);

/* how long a mesh_bypass entry counts after the proxy's marked SYN (set by user space before load) */
const volatile __u64 skl_bypass_ttl_ns = SKL_BYPASS_TTL_NS;

static __always_inline int skip_port(__u32 port)
{
	__u32 word = (port >> 6) & (SKL_SKIP_WORDS - 1);
	__u64 *bits = bpf_map_lookup_elem(&skl_skip_ports, &word);

	return bits && ((*bits >> (port & 63)) & 1);
}

/* true (and the entry consumed) when the proxy recorded this connection recently */
static __always_inline int bypass(const struct skl_addr *remote, const struct skl_addr *local,
				  __be16 remote_port, __be16 local_port)
{
	struct mesh_bypass_key key;
	struct mesh_bypass_value *v;
	__u64 now;

	__builtin_memcpy(key.remote_be, remote->addr_be, sizeof(key.remote_be));
	__builtin_memcpy(key.local_be, local->addr_be, sizeof(key.local_be));
	key.remote_port_be = remote_port;
	key.local_port_be = local_port;
	v = bpf_map_lookup_elem(&mesh_bypass, &key);
	if (!v)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - v->seen_ns > skl_bypass_ttl_ns) {
		bpf_map_delete_elem(&mesh_bypass, &key);
		return 0;
	}
	bpf_map_delete_elem(&mesh_bypass, &key);
	return 1;
}

SEC("sk_lookup")
int skl_mesh(struct bpf_sk_lookup *ctx)
{
	struct skl_addr local, remote;
	struct skl_counters *c;
	struct bpf_sock *sk;
	__u32 slot = SKL_SLOT_NONE, *pod;
	long err;

	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	if (ctx->family == SKL_AF_INET) {
		ipv4_mapped(local.addr_be, ctx->local_ip4);
		ipv4_mapped(remote.addr_be, ctx->remote_ip4);
	} else if (ctx->family == SKL_AF_INET6) {
		local.addr_be[0] = ctx->local_ip6[0];
		local.addr_be[1] = ctx->local_ip6[1];
		local.addr_be[2] = ctx->local_ip6[2];
		local.addr_be[3] = ctx->local_ip6[3];
		remote.addr_be[0] = ctx->remote_ip6[0];
		remote.addr_be[1] = ctx->remote_ip6[1];
		remote.addr_be[2] = ctx->remote_ip6[2];
		remote.addr_be[3] = ctx->remote_ip6[3];
	} else {
		return SK_PASS;
	}

	pod = bpf_map_lookup_elem(&skl_pods, &local);
	if (pod)
		slot = *pod;
	c = bpf_map_lookup_elem(&skl_counters, &slot);
	if (!c) {
		slot = SKL_SLOT_NONE;
		c = bpf_map_lookup_elem(&skl_counters, &slot);
		if (!c)
			return SK_PASS;
	}

	if (skip_port(ctx->local_port)) {
		c->skipped++;
		return SK_PASS;
	}
	if (!bpf_map_lookup_elem(&skl_members, &remote) || !bpf_map_lookup_elem(&skl_members, &local)) {
		c->passed++;
		return SK_PASS;
	}
	if (bypass(&remote, &local, ctx->remote_port, bpf_htons((__u16)ctx->local_port))) {
		c->bypassed++;
		return SK_PASS;
	}
	sk = bpf_map_lookup_elem(&skl_sockets, &local);
	if (!sk) {
		c->no_socket++;
		return SK_PASS;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err)
		c->assign_failed++;
	else
		c->diverted++;
	return SK_PASS;
}
