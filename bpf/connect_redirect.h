/* SPDX-License-Identifier: Apache-2.0 */
/*
 * connect_redirect: the map layouts and constants of bpf/connect_redirect.bpf.c, shared with
 * packages/plugin-connect-redirect (whose codecs are checked against the object's BTF).
 *
 * Four programs, attached to the cgroups whose TCP connects are redirected (the first three) and
 * to the cgroup of the proxy that takes them (the fourth):
 *   cr_connect4  SEC("cgroup/connect4")    a TCP connect whose destination a rule redirects goes to
 *   cr_connect6  SEC("cgroup/connect6")    the target listener instead; the original destination is
 *                                          kept on the socket (cr_sk_origdst)
 *   cr_sockops   SEC("sockops")            when the SYN of such a socket leaves (its source address
 *                                          and port are known), the original destination is
 *                                          recorded in cr_origdst by that source; removed when the
 *                                          socket closes
 *   cr_getsockopt SEC("cgroup/getsockopt") getsockopt(SOL_IP, SO_ORIGINAL_DST) and
 *                                          getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST) on an accepted
 *                                          socket answer the original destination of its peer, as
 *                                          iptables REDIRECT does (an unmodified proxy works)
 *
 *   cr_rules       LPM_TRIE       {prefixlen, addr}            -> {count, ranges[16]}
 *   cr_config      ARRAY[1]       struct cr_config (target listeners, bypass)
 *   cr_sk_origdst  SK_STORAGE     struct cr_origdst (on the client's socket)
 *   cr_origdst     LRU_HASH       {client addr, client port}   -> struct cr_origdst
 *   cr_stats       PERCPU_ARRAY[1] struct cr_stats
 *   cr_rule_stats  PERCPU_ARRAY[CR_MAX_RULES] struct cr_rule_stats, by rule number
 *
 * Addresses are IPv6 in network order, an IPv4 address IPv4-mapped (::ffff:a.b.c.d); an IPv4
 * prefix of length n has prefixlen 96 + n. The trie entry of a prefix holds every port range that
 * applies to an address it is the longest match for: its own rules' ranges, then those of the
 * shorter prefixes containing it (user space compiles them so), in order; the first range holding
 * the destination port decides: CR_ACTION_REDIRECT or CR_ACTION_DIRECT (an exclusion). No range:
 * direct.
 *
 * Never redirected: a connect to a target listener itself; a socket whose mark matches
 * bypass_mark under bypass_mark_mask (bypass_mark_mask 0: none); a process in the cgroup
 * bypass_cgroup_id (0: none). A redirect needs the socket's storage (else it goes direct, counted).
 */
#ifndef CONNECT_REDIRECT_H
#define CONNECT_REDIRECT_H

#include <linux/types.h>

#define CR_RULES_MAX_ENTRIES 16384
#define CR_ORIGDST_MAX_ENTRIES 65536
#define CR_MAX_RANGES 16
#define CR_MAX_RULES 4096

#define CR_ACTION_DIRECT 0
#define CR_ACTION_REDIRECT 1

/* netfilter's option numbers (linux/netfilter_ipv4.h SO_ORIGINAL_DST, netfilter_ipv6 IP6T_SO_ORIGINAL_DST) */
#define CR_SO_ORIGINAL_DST 80
#define CR_SOL_IP 0
#define CR_SOL_IPV6 41

struct cr_rule_key {
	__u32 prefixlen;
	__be32 addr_be[4];
};

/* ports in host order, inclusive */
struct cr_port_range {
	__u16 port_lo;
	__u16 port_hi;
	__u16 rule;   /* index into cr_rule_stats */
	__u8 action;  /* CR_ACTION_* */
	__u8 pad;
};

struct cr_rule_value {
	__u32 count;  /* ranges in use, <= CR_MAX_RANGES */
	struct cr_port_range ranges[CR_MAX_RANGES];
};

struct cr_config {
	__be32 target4_be;        /* IPv4 target listener (0: IPv4 connects are not redirected) */
	__be32 target6_be[4];     /* IPv6 target listener */
	__be16 target4_port_be;   /* 0: IPv4 connects are not redirected */
	__be16 target6_port_be;   /* 0: IPv6 connects are not redirected */
	__u32 bypass_mark;
	__u32 bypass_mark_mask;
	__u64 bypass_cgroup_id;
};

/* the original destination of a redirected connect */
struct cr_origdst {
	__be32 addr_be[4];
	__be16 port_be;
	__u16 family;             /* AF_INET or AF_INET6: the family the client connected with */
};

/* the client side of a redirected connection, as the proxy sees its peer */
struct cr_conn_key {
	__be32 addr_be[4];
	__be16 port_be;
	__u16 pad;
};

/* value of cr_stats[0] (per CPU) */
struct cr_stats {
	__u64 connects;           /* TCP connects seen */
	__u64 redirected;
	__u64 direct;             /* excluded, or no rule */
	__u64 bypassed;           /* mark, cgroup, or the target itself */
	__u64 no_storage;         /* would be redirected, but the socket storage failed: went direct */
	__u64 recorded;           /* original destinations recorded at SYN time */
	__u64 record_failed;
	__u64 origdst_answered;   /* SO_ORIGINAL_DST answered */
	__u64 origdst_unknown;    /* SO_ORIGINAL_DST asked for a peer with no record */
};

struct cr_rule_stats {
	__u64 redirected;
	__u64 direct;
};

#endif /* CONNECT_REDIRECT_H */
