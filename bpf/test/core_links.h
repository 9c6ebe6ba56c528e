/* Shared definitions of the core-bpf link test fixture (bpf/test/core_links.bpf.c): the slots of
 * the `counters` array and the layout of the `connect_redirect` value. core-bpf's kernel tests read
 * them with the same numbers (packages/core-bpf/test/support/core-links-fixture.ts). */
#ifndef BPFSTEER_TEST_CORE_LINKS_H
#define BPFSTEER_TEST_CORE_LINKS_H

enum core_links_counter {
	CL_TC_INGRESS = 0,     /* packets seen by tc_count_ingress */
	CL_TC_EGRESS = 1,      /* packets seen by tc_count_egress */
	CL_TC_ALT = 2,         /* packets seen by tc_count_alt (the "updated" program) */
	CL_CG_INGRESS = 3,     /* packets seen by cg_skb_ingress */
	CL_CG_EGRESS = 4,      /* packets seen by cg_skb_egress */
	CL_CONNECT4 = 5,       /* connect() calls seen by cg_connect4 */
	CL_CONNECT4_REWRITE = 6, /* of which were rewritten */
	CL_SOCKOPS = 7,        /* sock_ops callbacks seen by sockops_count */
	CL_SOCKOPS_ESTAB = 8,  /* of which were (active or passive) established */
	CL_SK_LOOKUP = 9,      /* lookups seen by sk_lookup_steer */
	CL_SK_LOOKUP_ASSIGNED = 10, /* of which were steered to the socket in `steer_sockets` */
	CL_COUNT = 16,
};

/* Value of connect_redirect[0]: a connect() to from_port is rewritten to to_port (network order). */
struct core_links_redirect {
	__be16 from_port;
	__be16 to_port;
};

/* Port that sk_lookup_steer steers to the socket in steer_sockets[0] (host order). */
#define CL_SK_LOOKUP_PORT 80

#endif
