// SPDX-License-Identifier: Apache-2.0
/*
 * tc tproxy firewall for OpenZiti routers (IPv4 and IPv6).
 *
 * tctp_ingress: a stateful ingress firewall that lets through what the interface's settings and
 * the rules allow, and diverts the flows of divert rules to local tproxy listeners (bpf_sk_assign).
 * tctp_egress: records the flows the host forwards out of an interface, so that their replies are
 * let back in by tctp_ingress. The per-packet algorithm, the maps and their layouts: tc_tproxy.h.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf_map_def.h"
#include "tc_tproxy.h"

_Static_assert(sizeof(struct tctp_dst_key) == 28, "tctp_dst_key layout");
_Static_assert(sizeof(struct tctp_src_key) == 24, "tctp_src_key layout");
_Static_assert(sizeof(struct tctp_host_key) == 24, "tctp_host_key layout");
_Static_assert(sizeof(struct tctp_node) == 4, "tctp_node layout");
_Static_assert(sizeof(struct tctp_port_range) == 8, "tctp_port_range layout");
_Static_assert(sizeof(struct tctp_dst_value) == 40, "tctp_dst_value layout");
_Static_assert(sizeof(struct tctp_port_key) == 12, "tctp_port_key layout");
_Static_assert(sizeof(struct tctp_port_value) == 4, "tctp_port_value layout");
_Static_assert(sizeof(struct tctp_rule) == 16, "tctp_rule layout");
_Static_assert(sizeof(struct tctp_counter) == 16, "tctp_counter layout");
_Static_assert(sizeof(struct tctp_iface) == 8, "tctp_iface layout");
_Static_assert(sizeof(struct tctp_if_addr_key) == 24, "tctp_if_addr_key layout");
_Static_assert(sizeof(struct tctp_if_stats) == 32, "tctp_if_stats layout");
_Static_assert(sizeof(struct tctp_ct_key) == 44, "tctp_ct_key layout");
_Static_assert(sizeof(struct tctp_ct_value) == 16, "tctp_ct_value layout");
_Static_assert(sizeof(struct tctp_event) == 64, "tctp_event layout");
_Static_assert(sizeof(struct tctp_summary) == 48, "tctp_summary layout");

BPF_MAP_DEFINE_FLAGS(tctp_dst, BPF_MAP_TYPE_LPM_TRIE, struct tctp_dst_key, struct tctp_dst_value,
		     TCTP_MAX_TRIE_ENTRIES, BPF_F_NO_PREALLOC);
/* hash elements are freed after a grace period (no preallocation): a reader never sees a reused one */
BPF_MAP_DEFINE_FLAGS(tctp_dst_host, BPF_MAP_TYPE_HASH, struct tctp_host_key, struct tctp_dst_value,
		     TCTP_MAX_TRIE_ENTRIES, BPF_F_NO_PREALLOC);
BPF_MAP_DEFINE_FLAGS(tctp_src, BPF_MAP_TYPE_LPM_TRIE, struct tctp_src_key, struct tctp_node,
		     TCTP_MAX_TRIE_ENTRIES, BPF_F_NO_PREALLOC);
BPF_MAP_DEFINE_FLAGS(tctp_port, BPF_MAP_TYPE_LPM_TRIE, struct tctp_port_key,
		     struct tctp_port_value, TCTP_MAX_TRIE_ENTRIES, BPF_F_NO_PREALLOC);
BPF_MAP_DEFINE(tctp_rules, BPF_MAP_TYPE_ARRAY, __u32, struct tctp_rule, TCTP_MAX_RULES + 1);
BPF_MAP_DEFINE(tctp_rule_hits, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct tctp_counter,
	       TCTP_MAX_RULES + 1);
BPF_MAP_DEFINE(tctp_ifaces, BPF_MAP_TYPE_HASH, __u32, struct tctp_iface, TCTP_MAX_IFACES);
BPF_MAP_DEFINE(tctp_if_addrs, BPF_MAP_TYPE_HASH, struct tctp_if_addr_key, __u32,
	       TCTP_MAX_IF_ADDRS);
BPF_MAP_DEFINE(tctp_if_stats, BPF_MAP_TYPE_PERCPU_HASH, __u32, struct tctp_if_stats,
	       TCTP_MAX_IFACES);
/* user space's summary of the rule maps (see struct tctp_summary); never read here */
BPF_MAP_DEFINE(tctp_summary, BPF_MAP_TYPE_ARRAY, __u32, struct tctp_summary, 1);
BPF_MAP_DEFINE(tctp_ct_tcp, BPF_MAP_TYPE_LRU_HASH, struct tctp_ct_key, struct tctp_ct_value,
	       TCTP_CT_ENTRIES);
BPF_MAP_DEFINE(tctp_ct_udp, BPF_MAP_TYPE_LRU_HASH, struct tctp_ct_key, struct tctp_ct_value,
	       TCTP_CT_ENTRIES);

/* a ring buffer has no key or value type: open-coded */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TCTP_EVENTS_BYTES);
} tctp_events SEC(".maps");

/* time-outs, set by user space before load */
const volatile __u64 tctp_tcp_idle_ns = TCTP_TCP_IDLE_NS;
const volatile __u64 tctp_udp_idle_ns = TCTP_UDP_IDLE_NS;
const volatile __u64 tctp_tcp_closing_ns = TCTP_TCP_CLOSING_NS;

/* never read: puts struct tctp_event in the object's BTF, for user space to check its decoder */
struct tctp_event *const volatile tctp_event_layout = 0;


#define LOOPBACK_IFINDEX 1
#define IPV4_OFFSET_MASK 0x1fff /* fragment offset bits of iphdr.frag_off */

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129
#define ICMPV6_ND_FIRST 133 /* router solicitation .. redirect */
#define ICMPV6_ND_LAST 137

#define PROTO_ICMPV6 58

/* what the parsers found out about a packet; addresses network order, IPv4 in word 0 */
struct packet {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport_be;
	__be16 dport_be;
	__u8 family; /* TCTP_AF_*; 0 for non-IP */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u32 l4_off; /* offset of the L4 header from the Ethernet header */
};

/* one ingress decision in progress */
struct ingress {
	struct __sk_buff *skb;
	struct tctp_if_stats *stats; /* NULL when user space made no entry for the interface */
	__u32 ifindex;
	__u32 flags; /* TCTP_IF_* */
	struct packet pkt;
};

/* ---------------------------------------------------------------- parsing */

static __always_inline int ipv6_extension_header(__u8 nexthdr)
{
	switch (nexthdr) {
	case 0:   /* hop-by-hop options */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 51:  /* authentication */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* host identity */
	case 140: /* shim6 */
	case 253: /* experimental */
	case 254:
		return 1;
	}
	return 0;
}

/* the IPv4 header: addresses, protocol, where L4 starts; fragments after the first are unparsed */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct packet *p)
{
	struct iphdr ip;

	p->family = TCTP_AF_INET;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return TCTP_REASON_UNPARSED;
	p->saddr[0] = ip.saddr;
	p->daddr[0] = ip.daddr;
	p->proto = ip.protocol;
	p->l4_off = ETH_HLEN + ip.ihl * 4;
	if (ip.ihl < 5 || (ip.frag_off & bpf_htons(IPV4_OFFSET_MASK)))
		return TCTP_REASON_UNPARSED;
	return 0;
}

/* the IPv6 header; a packet with extension headers is unparsed */
static __always_inline int parse_ipv6(struct __sk_buff *skb, struct packet *p)
{
	struct ipv6hdr ip6;

	p->family = TCTP_AF_INET6;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return TCTP_REASON_UNPARSED;
	__builtin_memcpy(p->saddr, &ip6.saddr, 16);
	__builtin_memcpy(p->daddr, &ip6.daddr, 16);
	p->proto = ip6.nexthdr;
	p->l4_off = ETH_HLEN + sizeof(ip6);
	if (ipv6_extension_header(ip6.nexthdr))
		return TCTP_REASON_UNPARSED;
	return 0;
}

/* IPv4 or IPv6 by EtherType (the caller checked it is one of them) */
static __always_inline int parse_l3(struct __sk_buff *skb, struct packet *p)
{
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, p);
	return parse_ipv6(skb, p);
}

static __always_inline int is_icmp(const struct packet *p)
{
	return p->family == TCTP_AF_INET ? p->proto == IPPROTO_ICMP : p->proto == PROTO_ICMPV6;
}

/* ports and TCP flags, or the ICMP type; other protocols: TCTP_REASON_PROTO */
static __always_inline int parse_l4(struct __sk_buff *skb, struct packet *p)
{
	/* the first 14 bytes of a TCP header; UDP needs only the ports */
	struct {
		__be16 sport_be;
		__be16 dport_be;
		__u32 seq;
		__u32 ack;
		__u8 data_off;
		__u8 flags;
	} l4;

	if (p->proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, p->l4_off, &l4, sizeof(l4)) < 0)
			return TCTP_REASON_UNPARSED;
		p->sport_be = l4.sport_be;
		p->dport_be = l4.dport_be;
		p->tcp_flags = l4.flags;
		return 0;
	}
	if (p->proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, p->l4_off, &l4, 4) < 0)
			return TCTP_REASON_UNPARSED;
		p->sport_be = l4.sport_be;
		p->dport_be = l4.dport_be;
		return 0;
	}
	if (is_icmp(p)) {
		if (bpf_skb_load_bytes(skb, p->l4_off, &p->icmp_type, 1) < 0)
			return TCTP_REASON_UNPARSED;
		return 0;
	}
	return TCTP_REASON_PROTO;
}

/* ---------------------------------------------------------------- counters and events */

static __always_inline void count_rule(__u32 rule_id, __u32 bytes)
{
	struct tctp_counter *c = bpf_map_lookup_elem(&tctp_rule_hits, &rule_id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void emit(struct ingress *in, __u8 kind, __u8 reason, __u32 rule_id,
				 __be16 tproxy_port_be)
{
	struct tctp_event *e = bpf_ringbuf_reserve(&tctp_events, sizeof(*e), 0);

	if (!e) {
		if (in->stats)
			in->stats->events_lost++;
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = in->ifindex;
	e->rule_id = rule_id;
	e->kind = kind;
	e->reason = reason;
	e->family = in->pkt.family;
	e->proto = in->pkt.proto;
	e->sport_be = in->pkt.sport_be;
	e->dport_be = in->pkt.dport_be;
	e->tproxy_port_be = tproxy_port_be;
	__builtin_memcpy(e->saddr, in->pkt.saddr, 16);
	__builtin_memcpy(e->daddr, in->pkt.daddr, 16);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int pass(struct ingress *in)
{
	if (in->stats)
		in->stats->passed++;
	return TC_ACT_OK;
}

static __always_inline int drop_by(struct ingress *in, __u8 reason, __u32 rule_id,
				   __be16 tproxy_port_be)
{
	if (in->stats)
		in->stats->dropped++;
	if (in->flags & TCTP_IF_EVENTS_DROP)
		emit(in, TCTP_EV_DROP, reason, rule_id, tproxy_port_be);
	return TC_ACT_SHOT;
}

static __always_inline int drop(struct ingress *in, __u8 reason)
{
	return drop_by(in, reason, TCTP_RULE_NONE, 0);
}

/* ---------------------------------------------------------------- fixed allowances */

static __always_inline int icmp_allowed(const struct ingress *in)
{
	__u8 type = in->pkt.icmp_type;
	int echo = (in->flags & TCTP_IF_ECHO) != 0;

	if (in->pkt.family == TCTP_AF_INET)
		return type == ICMP_ECHOREPLY || type == ICMP_DEST_UNREACH ||
		       type == ICMP_TIME_EXCEEDED || (type == ICMP_ECHO && echo);
	return type == ICMPV6_ECHO_REPLY || type == ICMPV6_DEST_UNREACH ||
	       type == ICMPV6_PKT_TOOBIG || type == ICMPV6_TIME_EXCEED ||
	       (type >= ICMPV6_ND_FIRST && type <= ICMPV6_ND_LAST) ||
	       (type == ICMPV6_ECHO_REQUEST && echo);
}

static __always_inline int dhcp_reply(const struct packet *p)
{
	if (p->proto != IPPROTO_UDP)
		return 0;
	if (p->family == TCTP_AF_INET)
		return p->sport_be == bpf_htons(67) && p->dport_be == bpf_htons(68);
	return p->sport_be == bpf_htons(547) && p->dport_be == bpf_htons(546);
}

/* TCP to port 22 of one of the interface's own addresses, when the interface allows SSH */
static __always_inline int ssh_to_self(const struct ingress *in)
{
	struct tctp_if_addr_key key;

	if (!(in->flags & TCTP_IF_SSH) || in->pkt.proto != IPPROTO_TCP ||
	    in->pkt.dport_be != bpf_htons(22))
		return 0;
	__builtin_memset(&key, 0, sizeof(key));
	key.ifindex = in->ifindex;
	key.family = in->pkt.family;
	__builtin_memcpy(key.addr, in->pkt.daddr, 16);
	return bpf_map_lookup_elem(&tctp_if_addrs, &key) != NULL;
}

/* ---------------------------------------------------------------- local sockets */

static __always_inline __u32 tuple_size(const struct packet *p)
{
	struct bpf_sock_tuple t;

	return p->family == TCTP_AF_INET ? sizeof(t.ipv4) : sizeof(t.ipv6);
}

/* a lookup tuple from the packet's source to daddr:dport (network order, IPv4 in word 0) */
static __always_inline void make_tuple(struct bpf_sock_tuple *t, const struct packet *p,
				       const __be32 *daddr, __be16 dport_be)
{
	__builtin_memset(t, 0, sizeof(*t));
	if (p->family == TCTP_AF_INET) {
		t->ipv4.saddr = p->saddr[0];
		t->ipv4.daddr = daddr[0];
		t->ipv4.sport = p->sport_be;
		t->ipv4.dport = dport_be;
		return;
	}
	__builtin_memcpy(t->ipv6.saddr, p->saddr, 16);
	__builtin_memcpy(t->ipv6.daddr, daddr, 16);
	t->ipv6.sport = p->sport_be;
	t->ipv6.dport = dport_be;
}

/* the packet belongs to a local TCP socket that is not a listener, or to a connected UDP socket */
static __always_inline int has_local_socket(struct __sk_buff *skb, const struct packet *p)
{
	struct bpf_sock_tuple t;
	struct bpf_sock *sk;
	int found;

	make_tuple(&t, p, p->daddr, p->dport_be);
	if (p->proto == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(skb, &t, tuple_size(p), BPF_F_CURRENT_NETNS, 0);
		if (!sk)
			return 0;
		found = sk->state != BPF_TCP_LISTEN;
	} else {
		sk = bpf_sk_lookup_udp(skb, &t, tuple_size(p), BPF_F_CURRENT_NETNS, 0);
		if (!sk)
			return 0;
		found = sk->dst_port != 0;
	}
	bpf_sk_release(sk);
	return found;
}

/* ---------------------------------------------------------------- connection tracking */

/* the key of a flow as its inbound packets show it (egress swaps the ends) */
static __always_inline void make_ct_key(struct tctp_ct_key *k, __u32 ifindex,
					const struct packet *p, int outbound)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->ifindex = ifindex;
	k->family = p->family;
	if (outbound) {
		k->sport_be = p->dport_be;
		k->dport_be = p->sport_be;
		__builtin_memcpy(k->saddr, p->daddr, 16);
		__builtin_memcpy(k->daddr, p->saddr, 16);
	} else {
		k->sport_be = p->sport_be;
		k->dport_be = p->dport_be;
		__builtin_memcpy(k->saddr, p->saddr, 16);
		__builtin_memcpy(k->daddr, p->daddr, 16);
	}
}

static __always_inline __u64 tcp_life(const struct tctp_ct_value *v)
{
	const __u32 both = TCTP_CT_FIN_OUT | TCTP_CT_FIN_IN;

	return (v->flags & both) == both ? tctp_tcp_closing_ns : tctp_tcp_idle_ns;
}

/* inbound TCP of a recorded flow: RST ends it, FIN marks it closing */
static __always_inline int ct_tcp_in(const struct tctp_ct_key *k, __u8 tcp_flags)
{
	struct tctp_ct_value *v = bpf_map_lookup_elem(&tctp_ct_tcp, k);
	__u64 now = bpf_ktime_get_ns();

	if (!v)
		return 0;
	if (now - v->last_seen_ns > tcp_life(v)) {
		bpf_map_delete_elem(&tctp_ct_tcp, k);
		return 0;
	}
	if (tcp_flags & TCP_FLAG_RST) {
		bpf_map_delete_elem(&tctp_ct_tcp, k);
		return 1;
	}
	if (tcp_flags & TCP_FLAG_FIN)
		v->flags |= TCTP_CT_FIN_IN;
	v->last_seen_ns = now;
	return 1;
}

static __always_inline int ct_udp_in(const struct tctp_ct_key *k)
{
	struct tctp_ct_value *v = bpf_map_lookup_elem(&tctp_ct_udp, k);
	__u64 now = bpf_ktime_get_ns();

	if (!v)
		return 0;
	if (now - v->last_seen_ns > tctp_udp_idle_ns) {
		bpf_map_delete_elem(&tctp_ct_udp, k);
		return 0;
	}
	v->last_seen_ns = now;
	return 1;
}

/* a reply to a flow tctp_egress recorded, still alive */
static __always_inline int tracked(const struct ingress *in)
{
	struct tctp_ct_key k;

	make_ct_key(&k, in->ifindex, &in->pkt, 0);
	if (in->pkt.proto == IPPROTO_TCP)
		return ct_tcp_in(&k, in->pkt.tcp_flags);
	return ct_udp_in(&k);
}

/* outbound TCP of a forwarded flow: (re)start it, FIN marks it closing, RST ends it */
static __always_inline void ct_tcp_out(const struct tctp_ct_key *k, __u8 tcp_flags)
{
	struct tctp_ct_value *v, fresh = {};
	__u64 now = bpf_ktime_get_ns();

	if (tcp_flags & TCP_FLAG_RST) {
		bpf_map_delete_elem(&tctp_ct_tcp, k);
		return;
	}
	v = bpf_map_lookup_elem(&tctp_ct_tcp, k);
	if (v) {
		if ((tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
			v->flags = 0; /* a new connection on the same ports */
		if (tcp_flags & TCP_FLAG_FIN)
			v->flags |= TCTP_CT_FIN_OUT;
		v->last_seen_ns = now;
		return;
	}
	fresh.last_seen_ns = now;
	fresh.flags = (tcp_flags & TCP_FLAG_FIN) ? TCTP_CT_FIN_OUT : 0;
	bpf_map_update_elem(&tctp_ct_tcp, k, &fresh, BPF_ANY);
}

static __always_inline void ct_udp_out(const struct tctp_ct_key *k)
{
	struct tctp_ct_value *v, fresh = {};
	__u64 now = bpf_ktime_get_ns();

	v = bpf_map_lookup_elem(&tctp_ct_udp, k);
	if (v) {
		v->last_seen_ns = now;
		return;
	}
	fresh.last_seen_ns = now;
	bpf_map_update_elem(&tctp_ct_udp, k, &fresh, BPF_ANY);
}

/* ---------------------------------------------------------------- rules */

/* the rule of an inline dst node's port intervals, TCTP_RULE_NONE if none covers the port */
static __always_inline __u32 inline_rule(const struct tctp_dst_value *v, __be16 port_be)
{
	__u16 port = bpf_ntohs(port_be);
	__u32 n = v->nranges;

#pragma unroll
	for (int i = 0; i < TCTP_INLINE_RANGES; i++) {
		if (i < n && port >= v->ranges[i].low && port <= v->ranges[i].high)
			return v->ranges[i].rule_id;
	}
	return TCTP_RULE_NONE;
}

/* the rule for the packet: one lookup per trie (see tc_tproxy.h), TCTP_RULE_NONE if none */
static __always_inline __u32 find_rule(const struct ingress *in)
{
	__u32 addr_bits = in->pkt.family == TCTP_AF_INET ? 32 : 128;
	struct tctp_port_value *rule;
	struct tctp_dst_value *dst;
	struct tctp_node *node;
	struct tctp_host_key hk;
	struct tctp_dst_key dk;
	struct tctp_src_key sk;
	struct tctp_port_key pk;

	__builtin_memset(&hk, 0, sizeof(hk));
	hk.ifindex = in->ifindex;
	hk.family = in->pkt.family;
	hk.proto = in->pkt.proto;
	__builtin_memcpy(hk.addr, in->pkt.daddr, 16);
	dst = bpf_map_lookup_elem(&tctp_dst_host, &hk);
	if (!dst) {
		__builtin_memset(&dk, 0, sizeof(dk));
		dk.prefixlen = TCTP_DST_FIXED_BITS + addr_bits;
		dk.ifindex = in->ifindex;
		dk.family = in->pkt.family;
		dk.proto = in->pkt.proto;
		__builtin_memcpy(dk.addr, in->pkt.daddr, 16);
		dst = bpf_map_lookup_elem(&tctp_dst, &dk);
		if (!dst)
			return TCTP_RULE_NONE;
	}
	if (dst->nranges)
		return inline_rule(dst, in->pkt.dport_be);

	__builtin_memset(&sk, 0, sizeof(sk));
	sk.prefixlen = TCTP_SRC_FIXED_BITS + addr_bits;
	sk.dst_id = dst->id;
	__builtin_memcpy(sk.addr, in->pkt.saddr, 16);
	node = bpf_map_lookup_elem(&tctp_src, &sk);
	if (!node)
		return TCTP_RULE_NONE;

	__builtin_memset(&pk, 0, sizeof(pk));
	pk.prefixlen = TCTP_PORT_FIXED_BITS + 16;
	pk.src_id = node->id;
	pk.port_be = in->pkt.dport_be;
	rule = bpf_map_lookup_elem(&tctp_port, &pk);
	return rule ? rule->rule_id : TCTP_RULE_NONE;
}

/* the tproxy listener at 127.0.0.1 / ::1 : port (TCP in LISTEN, UDP unconnected) takes the packet */
static __always_inline int assign_listener(struct __sk_buff *skb, const struct packet *p,
					   __be16 port_be)
{
	__be32 loopback[4] = {};
	struct bpf_sock_tuple t;
	struct bpf_sock *sk;
	long err;

	if (p->family == TCTP_AF_INET)
		loopback[0] = bpf_htonl(0x7f000001);
	else
		loopback[3] = bpf_htonl(1);
	make_tuple(&t, p, loopback, port_be);
	if (p->proto == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(skb, &t, tuple_size(p), BPF_F_CURRENT_NETNS, 0);
		if (!sk)
			return -1;
		err = sk->state == BPF_TCP_LISTEN ? bpf_sk_assign(skb, sk, 0) : -1;
	} else {
		sk = bpf_sk_lookup_udp(skb, &t, tuple_size(p), BPF_F_CURRENT_NETNS, 0);
		if (!sk)
			return -1;
		err = sk->dst_port == 0 ? bpf_sk_assign(skb, sk, 0) : -1;
	}
	bpf_sk_release(sk);
	return err ? -1 : 0;
}

static __always_inline int new_flow(const struct packet *p)
{
	return p->proto == IPPROTO_UDP ||
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

static __always_inline int divert(struct ingress *in, __u32 rule_id, __be16 port_be)
{
	if (assign_listener(in->skb, &in->pkt, port_be))
		return drop_by(in, TCTP_REASON_NO_LISTENER, rule_id, port_be);
	if (in->stats)
		in->stats->diverted++;
	if ((in->flags & TCTP_IF_EVENTS_DIVERT) && new_flow(&in->pkt))
		emit(in, TCTP_EV_DIVERT, TCTP_REASON_RULE, rule_id, port_be);
	return TC_ACT_OK;
}

static __always_inline int apply_rule(struct ingress *in)
{
	__u32 rule_id = find_rule(in);
	struct tctp_rule *r;

	if (rule_id == TCTP_RULE_NONE)
		return drop(in, TCTP_REASON_NO_RULE);
	r = bpf_map_lookup_elem(&tctp_rules, &rule_id);
	if (!r || !r->action)
		return drop(in, TCTP_REASON_NO_RULE);
	count_rule(rule_id, in->skb->len);
	if (r->action == TCTP_ACTION_PASS)
		return pass(in);
	if (r->action == TCTP_ACTION_DIVERT)
		return divert(in, rule_id, r->tproxy_port_be);
	return drop_by(in, TCTP_REASON_DENY_RULE, rule_id, 0);
}

/* ---------------------------------------------------------------- programs */

static __always_inline void start(struct ingress *in, struct __sk_buff *skb)
{
	struct tctp_iface *iface;

	__builtin_memset(in, 0, sizeof(*in));
	in->skb = skb;
	in->ifindex = skb->ifindex;
	iface = bpf_map_lookup_elem(&tctp_ifaces, &in->ifindex);
	in->flags = iface ? iface->flags : 0;
	in->stats = bpf_map_lookup_elem(&tctp_if_stats, &in->ifindex);
}

SEC("tc")
int tctp_ingress(struct __sk_buff *skb)
{
	struct ingress in;
	int reason;

	start(&in, skb);
	if (in.ifindex == LOOPBACK_IFINDEX || skb->protocol == bpf_htons(ETH_P_ARP))
		return pass(&in);
	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return drop(&in, TCTP_REASON_NOT_IP);

	/* parsed before the IPv6 check only so that its drop events show the ports too */
	reason = parse_l3(skb, &in.pkt);
	if (!reason)
		reason = parse_l4(skb, &in.pkt);
	if (in.pkt.family == TCTP_AF_INET6 && !(in.flags & TCTP_IF_IPV6))
		return drop(&in, TCTP_REASON_IPV6_OFF);
	if (reason)
		return drop(&in, reason);

	if (is_icmp(&in.pkt))
		return icmp_allowed(&in) ? pass(&in) : drop(&in, TCTP_REASON_ICMP);
	if (dhcp_reply(&in.pkt) || ssh_to_self(&in))
		return pass(&in);
	if (has_local_socket(skb, &in.pkt) || tracked(&in))
		return pass(&in);
	return apply_rule(&in);
}

SEC("tc")
int tctp_egress(struct __sk_buff *skb)
{
	struct packet p = {};
	struct tctp_ct_key k;

	if (skb->sk)
		return TC_ACT_OK; /* the host's own traffic: its sockets see the replies */
	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (parse_l3(skb, &p) || parse_l4(skb, &p))
		return TC_ACT_OK;
	if (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP)
		return TC_ACT_OK;
	make_ct_key(&k, skb->ifindex, &p, 1);
	if (p.proto == IPPROTO_TCP)
		ct_tcp_out(&k, p.tcp_flags);
	else
		ct_udp_out(&k);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
