/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sk_lookup_mesh: the single definition of the maps' keys, values and constants shared by
 * bpf/sk_lookup_mesh.bpf.c and packages/plugin-sklookup (whose codecs are checked against the
 * object's BTF when the maps are wrapped).
 *
 * One program (skl_mesh, SEC("sk_lookup")) attached to the network namespace of every meshed
 * pod. For a new TCP connection arriving in that namespace:
 *   1. destination port in the skip set (skl_skip_ports)                      -> normal lookup (skipped)
 *   2. source or destination address not a mesh member (skl_members)          -> normal lookup (passed)
 *   3. the connection has a fresh entry in mesh_bypass (the proxy's own
 *      connection to the application, see mesh_bypass.h); the entry is deleted -> normal lookup (bypassed)
 *   4. no socket for the destination address in skl_sockets                   -> normal lookup (no_socket)
 *   5. bpf_sk_assign(the socket): the proxy's HBONE listener takes the connection, which keeps its
 *      original destination as local address (diverted; a refused assign counts assign_failed).
 * Other protocols are left alone and not counted.
 *
 *   skl_members     HASH          address -> SKL_MEMBER          mesh members (every HBONE workload)
 *   skl_sockets     SOCKHASH      address -> socket              the HBONE listener of the pod owning the address
 *   skl_pods        HASH          address -> pod slot            addresses of the pods on this node
 *   skl_counters    PERCPU_ARRAY  pod slot -> struct skl_counters  slot 0: lookups whose destination is no pod address
 *   skl_skip_ports  ARRAY         port / 64 -> 64-bit mask       bit (port % 64) set: never divert the port
 *
 * The program cannot tell which namespace it runs in (bpf_get_netns_cookie is not available to
 * sk_lookup programs, measured on 6.18), so counters are kept per pod, found by the destination
 * address: one pod per namespace makes that per namespace.
 *
 * Addresses are IPv6 in network order; IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d).
 * No bool, explicit padding.
 */
#ifndef SK_LOOKUP_MESH_H
#define SK_LOOKUP_MESH_H

#include <linux/types.h>

#define SKL_AF_INET 2
#define SKL_AF_INET6 10

/* default capacities; user space may change max_entries before load */
#define SKL_MAX_MEMBERS 65536
#define SKL_MAX_PODS 1024
/* skl_pods and skl_sockets: addresses of the pods on this node */
#define SKL_MAX_POD_ADDRS 4096
/* slot 0 collects the lookups whose destination is no pod address: skl_counters has SKL_MAX_PODS + 1 entries */
#define SKL_SLOT_NONE 0
/* skl_skip_ports: 65536 ports, 64 per word */
#define SKL_SKIP_WORDS 1024
/* value of skl_members entries */
#define SKL_MEMBER 1
/* default time-to-live of a mesh_bypass entry; the .rodata constant skl_bypass_ttl_ns overrides it */
#define SKL_BYPASS_TTL_NS (5ULL * 1000000000ULL)

/* key of skl_members, skl_sockets, skl_pods */
struct skl_addr {
	__be32 addr_be[4];
};

/* value of skl_counters (per CPU) */
struct skl_counters {
	__u64 diverted;
	__u64 passed;
	__u64 skipped;
	__u64 bypassed;
	__u64 no_socket;
	__u64 assign_failed;
};

#endif /* SK_LOOKUP_MESH_H */
