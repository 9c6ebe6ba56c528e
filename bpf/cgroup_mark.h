/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup_mark: the constants and the statistics layout of bpf/cgroup_mark.bpf.c, shared with
 * packages/plugin-cgroup-mark (whose codecs are checked against the object's BTF). The map it
 * fills, mesh_bypass, is defined in mesh_bypass.h.
 *
 * One program (cgroup_mark_egress, SEC("cgroup_skb/egress")) attached to the mesh proxy's cgroup.
 * For every packet a socket of that cgroup sends, in any network namespace:
 *   1. (skb->mark & cgm_mark_mask) != cgm_mark_value: nothing to do;
 *   2. not a TCP SYN without ACK (IPv4 without fragment offset, IPv6 with TCP as the first next
 *      header): nothing to do;
 *   3. with cgm_local_only (default) the SYN must leave through the loopback device (ifindex 1):
 *      a connection to a local address, the only kind the sk_lookup program could divert;
 *   4. the SYN's connection is recorded in mesh_bypass with the current time.
 * The packet is always allowed (return 1): the program only observes.
 *
 *   cgm_stats  PERCPU_ARRAY[1]  struct cgm_stats
 *
 * .rodata constants set by user space before load: cgm_mark_value, cgm_mark_mask (__u32),
 * cgm_local_only (__u32, 0 or 1).
 */
#ifndef CGROUP_MARK_H
#define CGROUP_MARK_H

#include <linux/types.h>

/* in-pod ambient (Istio >= 1.21): ztunnel marks the sockets it opens in a pod 0x539 under mask 0xfff */
#define CGM_INPOD_MARK 0x539
#define CGM_INPOD_MASK 0xfff
#define CGM_LOOPBACK_IFINDEX 1

/* value of cgm_stats[0] (per CPU) */
struct cgm_stats {
	__u64 marked_syns;    /* SYNs with the mark */
	__u64 recorded;       /* of which were recorded in mesh_bypass */
	__u64 not_local;      /* of which left through another device than loopback (cgm_local_only) */
	__u64 record_failed;  /* of which the map update failed */
};

#endif /* CGROUP_MARK_H */
