/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mesh_bypass: the single definition of the map that bpf/cgroup_mark.bpf.c writes and
 * bpf/sk_lookup_mesh.bpf.c reads (both objects include this header, so both declare the same
 * map; user space pins it once and the second object to load reuses the pin).
 *
 * The problem it solves: after the mesh proxy (ztunnel) terminates HBONE for a connection to a
 * pod, it opens its own connection to the application on the original port, usually from the
 * original client's address. Source and destination are both mesh members, so the sk_lookup
 * program would divert that connection back to the proxy. sk_lookup programs cannot read the
 * packet mark the proxy sets on its sockets, but a cgroup_skb egress program on the proxy's
 * cgroup can: it records the SYN's connection here, and the sk_lookup program lets a
 * connection with a fresh entry take the normal lookup (and deletes the entry).
 *
 *   mesh_bypass  LRU_HASH  {remote addr, local addr, remote port, local port} -> {seen_ns}
 *
 * "remote" is the connecting side (the SYN's source), "local" the SYN's destination, as the
 * sk_lookup program sees them. Addresses are IPv6 in network order; an IPv4 address is stored
 * IPv4-mapped (::ffff:a.b.c.d). Ports are in network order.
 *
 * LRU: a flood of marked SYNs (the proxy also marks its connections to remote hosts) evicts the
 * oldest entries instead of failing inserts, so the table can never fill up and break traffic.
 * seen_ns is bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last marked SYN; the sk_lookup
 * program ignores entries older than its time-to-live (a retransmitted SYN refreshes the entry).
 */
#ifndef MESH_BYPASS_H
#define MESH_BYPASS_H

#include <linux/types.h>

/* default capacity; user space may change max_entries before load (both objects alike) */
#define MESH_BYPASS_MAX_ENTRIES 65536

struct mesh_bypass_key {
	__be32 remote_be[4];
	__be32 local_be[4];
	__be16 remote_port_be;
	__be16 local_port_be;
};

struct mesh_bypass_value {
	__u64 seen_ns;
};

#ifdef __bpf__
#include "bpf_map_def.h"

_Static_assert(sizeof(struct mesh_bypass_key) == 36, "mesh_bypass_key layout");
_Static_assert(sizeof(struct mesh_bypass_value) == 8, "mesh_bypass_value layout");

BPF_MAP_DEFINE(mesh_bypass, BPF_MAP_TYPE_LRU_HASH, struct mesh_bypass_key, struct mesh_bypass_value,
	       MESH_BYPASS_MAX_ENTRIES);

#endif /* __bpf__ */

#endif /* MESH_BYPASS_H */
