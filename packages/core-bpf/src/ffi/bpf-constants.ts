/**
 * The numbers from the uapi linux/bpf.h and libbpf.h that core-bpf passes to libbpf or reads back,
 * in one place. Program and map type numbers are not here: program-type.ts and map-type.ts are their
 * tables (by name, checked against libbpf's own names). Checked against the system headers by
 * test/ffi-layouts.test.ts; the tcx numbers (kernel 6.6) are newer than those headers and are
 * checked by the kernel tests that attach and re-adopt tcx links.
 */
export const BPF = {
  /** enum bpf_attach_type */
  attach: {
    CGROUP_INET_INGRESS: 0,
    CGROUP_INET_EGRESS: 1,
    CGROUP_SOCK_OPS: 3,
    CGROUP_INET4_CONNECT: 10,
    CGROUP_INET6_CONNECT: 11,
    CGROUP_GETSOCKOPT: 21,
    SK_LOOKUP: 36,
    TCX_INGRESS: 46,
    TCX_EGRESS: 47,
  },
  /** enum bpf_link_type */
  link: {
    CGROUP: 3,
    NETNS: 5,
    TCX: 11,
  },
  /** libbpf's enum bpf_tc_attach_point and bpf_tc_flags */
  tc: {
    INGRESS: 1,
    EGRESS: 2,
    F_REPLACE: 1,
  },
  /** map update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST) */
  update: {
    ANY: 0,
    NOEXIST: 1,
    EXIST: 2,
  },
  /** enum bpf_func_id entries that features.ts probes */
  helper: {
    REDIRECT_NEIGH: 152,
  },
} as const;
