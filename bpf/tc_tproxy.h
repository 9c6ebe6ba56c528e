/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tc_tproxy: the single definition of the maps' keys, values and constants shared by
 * bpf/tc_tproxy.bpf.c and packages/plugin-tc-tproxy (whose codecs are checked against the
 * object's BTF when the maps are wrapped).
 *
 * A stateful ingress firewall for the interfaces it is attached to (tc ingress, program
 * tctp_ingress) that diverts matching TCP/UDP flows to local tproxy listeners with
 * bpf_sk_assign, plus a tc egress program (tctp_egress) that records forwarded flows so their
 * replies are let back in.
 *
 * Rules are (interface, family, protocol, destination prefix, source prefix, port range) ->
 * action. User space compiles them into three LPM tries looked up one after the other:
 *
 *   tctp_dst   LPM  {ifindex, family, proto, dst prefix}      -> dst node (id, inline ranges)
 *   tctp_dst_host HASH {ifindex, family, proto, dst address} -> dst node of a full-length prefix
 *   tctp_src   LPM  {dst node id, src prefix}                 -> src node id
 *   tctp_port  LPM  {src node id, port block}                 -> rule id
 *   tctp_rules ARRAY rule id -> {action, tproxy port, identity}   (rule id 0 is never used)
 *
 * Precedence (among the rules matching a packet): longest destination prefix, then longest
 * source prefix, then narrowest port range; a deny rule wins a tie. User space makes one lookup
 * per trie enough: a dst node also holds the rules of every shorter destination prefix that
 * contains it, a src node the rules of every shorter source prefix (of the same dst node), and a
 * src node's port entries are the partition of 0..65535 into intervals with one winning rule,
 * each interval written as aligned power-of-two blocks (disjoint, so any hit is the answer).
 * A rule without an interface list is compiled for every attached interface.
 *
 * A dst node of a full-length destination (/32, /128) is the longest match there is, so it lives in
 * the hash tctp_dst_host instead of the trie, looked up first: one hash lookup for host rules.
 *
 * Inline dst nodes (the common case: every rule of the node allows any source and the node's port
 * partition has at most TCTP_INLINE_RANGES intervals) carry their intervals in the dst value and
 * have no src or port entries: one LPM lookup then decides, whatever the number of rules.
 *
 * Per packet (tctp_ingress), in order:
 *   1. loopback (skb->ifindex 1): pass.  ARP: pass.  Other non-IP ethertypes: drop.
 *   2. interface settings from tctp_ifaces (absent = 0 flags): IPv6 dropped unless TCTP_IF_IPV6.
 *   3. IPv4 fragments after the first, and IPv6 with extension headers: drop (no ports to match).
 *   4. ICMP: echo-reply, unreachable/time-exceeded (v6 also packet-too-big, neighbour discovery
 *      133..137) pass; echo-request passes with TCTP_IF_ECHO; the rest drops.
 *   5. DHCP replies (UDP 67->68, DHCPv6 547->546) pass.  TCP to port 22 of one of the interface's
 *      own addresses (tctp_if_addrs) passes with TCTP_IF_SSH.
 *   6. TCP/UDP whose own tuple has a local socket (TCP not in LISTEN; UDP connected): pass
 *      (replies to connections the host opened, packets of already-diverted connections).
 *   7. TCP/UDP found in tctp_ct_tcp / tctp_ct_udp (recorded by tctp_egress, not expired): pass.
 *      An inbound RST removes the TCP entry; FINs both ways shorten its life to closing_ns.
 *   8. rule lookup; no rule: drop.  PASS: pass.  DENY: drop.  DIVERT: look up the listener at
 *      127.0.0.1 (IPv4) or ::1 (IPv6) : tproxy port (TCP in LISTEN, UDP unconnected) and
 *      bpf_sk_assign it; no listener: drop.
 * Counters: tctp_rule_hits per rule, tctp_if_stats per interface. Events (tctp_events ring buffer,
 * struct tctp_event): drops when TCTP_IF_EVENTS_DROP, diverts of a new flow (TCP SYN, every UDP
 * packet) when TCTP_IF_EVENTS_DIVERT; a full ring buffer counts events_lost.
 *
 * Addresses are 16 bytes in network order; IPv4 uses bytes 0..3, the rest is zero. Everything in
 * network byte order is typed __be16/__be32 and named *_be; no bool, explicit padding.
 */
#ifndef TC_TPROXY_H
#define TC_TPROXY_H

#include <linux/types.h>

#define TCTP_AF_INET 2
#define TCTP_AF_INET6 10

#define TCTP_PROTO_TCP 6
#define TCTP_PROTO_UDP 17

/* default capacities; user space may change every map's max_entries before load */
#define TCTP_MAX_RULES 131072 /* tctp_rules / tctp_rule_hits hold TCTP_MAX_RULES + 1 entries */
#define TCTP_MAX_TRIE_ENTRIES 262144
#define TCTP_MAX_IFACES 64
#define TCTP_MAX_IF_ADDRS 1024
#define TCTP_CT_ENTRIES 32768 /* per protocol; user space sets it from conntrack.maxEntries */
#define TCTP_EVENTS_BYTES (256 * 1024)
#define TCTP_RULE_NONE 0

/* LPM prefix lengths: the fixed leading fields count as fully specified bits */
#define TCTP_DST_FIXED_BITS 64 /* ifindex, family, proto, pad */
#define TCTP_SRC_FIXED_BITS 32 /* dst node id */
#define TCTP_PORT_FIXED_BITS 32 /* src node id */

/* default time-outs (nanoseconds); .rodata constants tctp_tcp_idle_ns, tctp_udp_idle_ns,
 * tctp_tcp_closing_ns in the object override them before load */
#define TCTP_TCP_IDLE_NS (3600ULL * 1000000000ULL)
#define TCTP_UDP_IDLE_NS (30ULL * 1000000000ULL)
#define TCTP_TCP_CLOSING_NS (10ULL * 1000000000ULL)

/* tctp_rule.action */
#define TCTP_ACTION_DIVERT 1
#define TCTP_ACTION_PASS 2
#define TCTP_ACTION_DENY 3

/* tctp_iface.flags */
#define TCTP_IF_SSH (1u << 0)           /* allow TCP 22 to the interface's own addresses */
#define TCTP_IF_ECHO (1u << 1)          /* allow ICMP/ICMPv6 echo-request */
#define TCTP_IF_IPV6 (1u << 2)          /* process IPv6 (else dropped) */
#define TCTP_IF_EVENTS_DROP (1u << 3)   /* emit an event for every drop */
#define TCTP_IF_EVENTS_DIVERT (1u << 4) /* emit an event for every new diverted flow */

/* tctp_event.kind */
#define TCTP_EV_DROP 1
#define TCTP_EV_DIVERT 2

/* tctp_event.reason */
#define TCTP_REASON_RULE 0        /* divert by rule */
#define TCTP_REASON_NO_RULE 1     /* no rule matched */
#define TCTP_REASON_DENY_RULE 2   /* a deny rule matched */
#define TCTP_REASON_NO_LISTENER 3 /* divert rule, but no tproxy listener on its port */
#define TCTP_REASON_IPV6_OFF 4    /* IPv6 on an interface without TCTP_IF_IPV6 */
#define TCTP_REASON_UNPARSED 5    /* truncated header, fragment, IPv6 extension header */
#define TCTP_REASON_NOT_IP 6      /* neither ARP nor IPv4/IPv6 */
#define TCTP_REASON_ICMP 7        /* an ICMP type that is not allowed */
#define TCTP_REASON_PROTO 8       /* an IP protocol other than TCP/UDP/ICMP */

/* tctp_ct_*.flags */
#define TCTP_CT_FIN_OUT (1u << 0)
#define TCTP_CT_FIN_IN (1u << 1)

/* tctp_dst key: prefixlen = TCTP_DST_FIXED_BITS + destination prefix length */
struct tctp_dst_key {
	__u32 prefixlen;
	__u32 ifindex;
	__u8 family; /* TCTP_AF_INET / TCTP_AF_INET6 */
	__u8 proto;  /* TCTP_PROTO_TCP / TCTP_PROTO_UDP */
	__u8 pad[2];
	__u8 addr[16];
};

/* tctp_dst_host key: tctp_dst_key without prefixlen (a full-length destination address) */
struct tctp_host_key {
	__u32 ifindex;
	__u8 family;
	__u8 proto;
	__u8 pad[2];
	__u8 addr[16];
};

/* tctp_src key: prefixlen = TCTP_SRC_FIXED_BITS + source prefix length */
struct tctp_src_key {
	__u32 prefixlen;
	__u32 dst_id;
	__u8 addr[16];
};

/* tctp_src value: a node id (ids are >= 1, unique per map) */
struct tctp_node {
	__u32 id;
};

/* a port interval [low, high] (host byte order) won by rule_id */
struct tctp_port_range {
	__u16 low;
	__u16 high;
	__u32 rule_id;
};

#define TCTP_INLINE_RANGES 4

/*
 * tctp_dst value. nranges 0: look up tctp_src with dst_id = id. nranges 1..TCTP_INLINE_RANGES:
 * the node's only source prefix is "any" and ranges[0..nranges) (ascending, disjoint) are its port
 * partition: a port in none of them has no rule. id is unique among dst values either way.
 */
struct tctp_dst_value {
	__u32 id;
	__u32 nranges;
	struct tctp_port_range ranges[TCTP_INLINE_RANGES];
};

/* tctp_port key: prefixlen = TCTP_PORT_FIXED_BITS + block bits (0..16) */
struct tctp_port_key {
	__u32 prefixlen;
	__u32 src_id;
	__be16 port_be;
	__u8 pad[2];
};

/* tctp_port value */
struct tctp_port_value {
	__u32 rule_id;
};

/* tctp_rules value; identity is user space's 64-bit hash of the rule, to re-adopt ids after a restart */
struct tctp_rule {
	__u8 action; /* 0 in an unused slot */
	__u8 pad;
	__be16 tproxy_port_be; /* DIVERT only */
	__u32 pad2;
	__u64 identity;
};

/* tctp_rule_hits value (per CPU) */
struct tctp_counter {
	__u64 packets;
	__u64 bytes;
};

/* tctp_ifaces value, keyed by __u32 ifindex */
struct tctp_iface {
	__u32 flags; /* TCTP_IF_* */
	__u32 pad;
};

/* tctp_if_addrs key (value: __u32, 1) */
struct tctp_if_addr_key {
	__u32 ifindex;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/*
 * tctp_summary value (one entry, key 0; the program never reads it): user space's record that the
 * rule maps hold exactly what it compiled from the rules in force, so that a restart can trust
 * them instead of reading every trie back. version is TCTP_SUMMARY_VERSION only while that holds:
 * a starting dataplane writes 0 (from then on it may change the rule maps), one that stops keeping
 * its pins writes the record.
 */
struct tctp_summary {
	__u32 version;
	__u32 ifaces_hash;  /* the attached interfaces (name=ifindex) the rules were compiled for */
	__u32 rules_lo;     /* order-independent hash of the intents the rules in force were accepted */
	__u32 rules_hi;     /* from (their fields as given), two 32-bit lanes */
	__u32 slots_lo;     /* order-independent hash of the tctp_rules slots (id, action, port, */
	__u32 slots_hi;     /* identity): checked against tctp_rules at a restart */
	__u32 rules;        /* entries: tctp_rules slots in use, */
	__u32 dst;          /* tctp_dst, */
	__u32 dst_host;     /* tctp_dst_host, */
	__u32 src;          /* tctp_src, */
	__u32 port;         /* tctp_port */
	__u32 pad;
};

#define TCTP_SUMMARY_VERSION 2

/* tctp_if_stats value (per CPU), keyed by __u32 ifindex; user space creates the entries */
struct tctp_if_stats {
	__u64 passed;
	__u64 diverted;
	__u64 dropped;
	__u64 events_lost;
};

/*
 * tctp_ct_tcp / tctp_ct_udp key, as seen by an inbound reply: saddr/sport the remote end,
 * daddr/dport the inside host; ifindex the interface the flow left by (and its reply enters).
 */
struct tctp_ct_key {
	__u32 ifindex;
	__u8 family;
	__u8 pad;
	__be16 sport_be;
	__be16 dport_be;
	__u8 pad2[2];
	__u8 saddr[16];
	__u8 daddr[16];
};

struct tctp_ct_value {
	__u64 last_seen_ns; /* bpf_ktime_get_ns() */
	__u32 flags;        /* TCTP_CT_* */
	__u32 pad;
};

/* tctp_events record */
struct tctp_event {
	__u64 ts_ns;
	__u32 ifindex;
	__u32 rule_id;
	__u8 kind;   /* TCTP_EV_* */
	__u8 reason; /* TCTP_REASON_* */
	__u8 family;
	__u8 proto;
	__be16 sport_be;
	__be16 dport_be;
	__be16 tproxy_port_be;
	__u8 pad[6];
	__u8 saddr[16];
	__u8 daddr[16];
};

#endif /* TC_TPROXY_H */
