/**
 * Numbers from the uapi linux/netlink.h, linux/rtnetlink.h and linux/neighbour.h that core-bpf's
 * own rtnetlink requests (neighbours.ts) and change watch (netlink-change-watch.ts) use, in one
 * place. Stable kernel ABI; the neighbour and change-watch kernel tests exercise every one of them
 * against the running kernel.
 */
export const NL = {
  /** protocol of socket(AF_NETLINK, SOCK_RAW, ...) */
  NETLINK_ROUTE: 0,
  SOL_NETLINK: 270,
  NETLINK_EXT_ACK: 11,
  NETLINK_CAP_ACK: 10,
  /** struct sockaddr_nl: nl_family u16, nl_pad u16, nl_pid u32, nl_groups u32 */
  SOCKADDR_NL_LEN: 12,
  SOCKADDR_NL_GROUPS: 8,
  /** multicast groups of NETLINK_ROUTE (the legacy RTMGRP_* bit masks of nl_groups) */
  RTMGRP_LINK: 0x1,
  RTMGRP_IPV4_IFADDR: 0x10,
  RTMGRP_IPV6_IFADDR: 0x100,
  /** struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32 */
  HDR_LEN: 16,
  /** struct nlattr: len u16, type u16 */
  ATTR_HDR_LEN: 4,
  /** message types */
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  RTM_NEWNEIGH: 28,
  RTM_DELNEIGH: 29,
  RTM_GETNEIGH: 30,
  /** nlmsg_flags */
  F_REQUEST: 0x1,
  F_MULTI: 0x2,
  F_ACK: 0x4,
  F_DUMP: 0x300,
  F_REPLACE: 0x100,
  F_CREATE: 0x400,
  /** flags of an NLMSG_ERROR reply */
  F_CAPPED: 0x100,
  F_ACK_TLVS: 0x200,
  /** enum nlmsgerr_attrs */
  NLMSGERR_ATTR_MSG: 1,
} as const;

/** struct ndmsg (12 bytes) and the neighbour attributes, states and flags. */
export const NEIGH = {
  /** ndmsg: family u8, pad u8, pad u16, ifindex s32, state u16, flags u8, type u8 */
  NDMSG_LEN: 12,
  /** enum NDA_* */
  NDA_DST: 1,
  NDA_LLADDR: 2,
  NDA_PROTOCOL: 12,
  NDA_FLAGS_EXT: 15,
  /** NTF_EXT_* (in NDA_FLAGS_EXT) */
  NTF_EXT_MANAGED: 1 << 0,
  /** NUD_* states */
  state: {
    INCOMPLETE: 0x01,
    REACHABLE: 0x02,
    STALE: 0x04,
    DELAY: 0x08,
    PROBE: 0x10,
    FAILED: 0x20,
    NOARP: 0x40,
    PERMANENT: 0x80,
  },
} as const;
