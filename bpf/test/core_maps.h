/* Shared layouts of the core_maps fixture (core-bpf kernel tests). The TypeScript codecs in
 * packages/core-bpf/test are checked against this object's BTF, so a drift here fails a test. */
#ifndef CORE_MAPS_H
#define CORE_MAPS_H

#include <linux/types.h>

/* LPM key for IPv4 destinations: prefix length in host order, address in network order. */
struct core_v4_lpm_key {
	__u32 prefixlen;
	__be32 addr;
};

/* What the classifier does with a matching packet. */
struct core_route {
	__u32 action;     /* returned by the program */
	__be32 gateway;
	__be16 port;
	__u8 flags;
	__u8 pad;         /* explicit padding */
	__u32 pad2;       /* explicit padding before the 8-byte field */
	__u64 cookie;
};

struct core_flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

#define CORE_ACTION_DEFAULT 0

#endif
