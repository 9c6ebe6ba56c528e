/**
 * The C structs used by the link and system-helper half of core-bpf (libbpf's tc option structs and
 * libc's socket message structs), declared once for koffi and lazily. Layouts are written from
 * /usr/include/bpf/libbpf.h and <sys/socket.h>; test/link-ffi-layouts.test.ts compiles a C program
 * against those headers and compares every size and offset with `linkStructLayouts()`.
 *
 * Raw layouts read from kernel info buffers (bpf_prog_info, bpf_link_info) are offsets in
 * `infoOffsets`, checked by the same test.
 */
import { koffi } from './lib.js';

type TypeObject = ReturnType<typeof koffi.struct>;

/** Member order and C types, the single source for koffi and for the layout test. */
const definitions = {
  bpf_tc_hook: {
    sz: 'size_t',
    ifindex: 'int',
    attach_point: 'int', // enum bpf_tc_attach_point
    parent: 'uint32_t',
  },
  bpf_tc_opts: {
    sz: 'size_t',
    prog_fd: 'int',
    flags: 'uint32_t',
    prog_id: 'uint32_t',
    handle: 'uint32_t',
    priority: 'uint32_t',
  },
  msghdr: {
    msg_name: 'void *',
    msg_namelen: 'uint32_t',
    msg_iov: 'void *',
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  },
  iovec: {
    iov_base: 'void *',
    iov_len: 'size_t',
  },
  cmsghdr: {
    cmsg_len: 'size_t',
    cmsg_level: 'int',
    cmsg_type: 'int',
  },
  ifaddrs: {
    ifa_next: 'void *',
    ifa_name: 'const char *',
    ifa_flags: 'unsigned int',
    ifa_addr: 'void *',
    ifa_netmask: 'void *',
    ifa_ifu: 'void *',
    ifa_data: 'void *',
  },
  if_nameindex: {
    if_index: 'unsigned int',
    if_name: 'const char *',
  },
} as const;

export type LinkStructName = keyof typeof definitions;

const types = new Map<LinkStructName, TypeObject>();

/** The koffi type of one of these structs (declared on first use, under its C name prefixed `bpfsteer_`). */
export function linkStruct(name: LinkStructName): TypeObject {
  let type = types.get(name);
  if (!type) {
    type = koffi.struct(`bpfsteer_${name}`, definitions[name]);
    types.set(name, type);
  }
  return type;
}

/** Byte offsets inside kernel info buffers (struct bpf_prog_info / bpf_link_info from linux/bpf.h). */
export const infoOffsets = {
  prog: { size: 80, type: 0, id: 4, name: 64, nameLength: 16 },
  link: {
    size: 32,
    type: 0,
    id: 4,
    progId: 8,
    // the union after prog_id is 8-byte aligned
    netnsIno: 16,
    netnsAttachType: 20,
    cgroupId: 16,
    cgroupAttachType: 24,
    tcxIfindex: 16,
    tcxAttachType: 20,
  },
  /** sockaddr_in.sin_addr and sockaddr_in6.sin6_addr */
  sockaddrIn4Addr: 4,
  sockaddrIn6Addr: 8,
  /** CMSG_DATA offset on LP64 (sizeof(struct cmsghdr) rounded to size_t) */
  cmsgData: 16,
} as const;

/** Layouts as koffi computes them, for the header check. */
export function linkStructLayouts(): Array<{
  name: LinkStructName;
  size: number;
  members: Array<{ name: string; offset: number }>;
}> {
  return (Object.keys(definitions) as LinkStructName[]).map((name) => {
    const type = linkStruct(name);
    return {
      name,
      size: koffi.sizeof(type),
      members: Object.keys(definitions[name]).map((m) => ({ name: m, offset: koffi.offsetof(type, m) })),
    };
  });
}
