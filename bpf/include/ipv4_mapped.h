/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, RFC 4291 2.5.5.2), the form in which the programs'
 * maps hold an IPv4 address beside IPv6 ones: 16 bytes as four __be32 words, network order.
 */
#ifndef IPV4_MAPPED_H
#define IPV4_MAPPED_H

#include <linux/types.h>
#include <bpf/bpf_endian.h>

/* addr (16 bytes) := the IPv4-mapped form of ip4 */
static __always_inline void ipv4_mapped(__be32 *addr, __be32 ip4)
{
	addr[0] = 0;
	addr[1] = 0;
	addr[2] = bpf_htonl(0x0000ffff);
	addr[3] = ip4;
}

/* whether addr (16 bytes) is an IPv4-mapped address */
static __always_inline int is_ipv4_mapped(const __be32 *addr)
{
	return addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0x0000ffff);
}

#endif /* IPV4_MAPPED_H */
