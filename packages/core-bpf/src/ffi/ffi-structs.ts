/**
 * Every C struct core-bpf hands to koffi (libbpf's option structs, libc's socket and interface
 * structs), declared once and lazily under its C name prefixed `bpfsteer_`. Layouts are written from
 * /usr/include/bpf/libbpf.h, bpf.h and the glibc headers; test/ffi-layouts.test.ts compiles a C
 * program against those headers and compares every size and offset with `ffiStructLayouts()`, and
 * the fixed offsets in `cOffsets` with the same program. (Kernel info structs read from buffers,
 * bpf_*_info, are codecs in object-info.ts, checked against the kernel's BTF instead.)
 */
import { koffi } from './lib.js';

type TypeObject = ReturnType<typeof koffi.struct>;

/** Member order and C types of each struct, the single source for koffi and for the layout test. */
const definitions = {
  bpf_object_open_opts: {
    sz: 'size_t',
    object_name: 'const char *',
    relaxed_maps: 'bool',
    pin_root_path: 'const char *',
    _stub_attach_prog_fd: 'uint32_t', // `__u32 :32` in the header
    kconfig: 'const char *',
    btf_custom_path: 'const char *',
    kernel_log_buf: 'void *',
    kernel_log_size: 'size_t',
    kernel_log_level: 'uint32_t',
  },
  bpf_map_batch_opts: {
    sz: 'size_t',
    elem_flags: 'uint64_t',
    flags: 'uint64_t',
  },
  bpf_test_run_opts: {
    sz: 'size_t',
    data_in: 'void *',
    data_out: 'void *',
    data_size_in: 'uint32_t',
    data_size_out: 'uint32_t',
    ctx_in: 'void *',
    ctx_out: 'void *',
    ctx_size_in: 'uint32_t',
    ctx_size_out: 'uint32_t',
    retval: 'uint32_t',
    repeat: 'int',
    duration: 'uint32_t',
    flags: 'uint32_t',
    cpu: 'uint32_t',
    batch_size: 'uint32_t',
  },
  bpf_map_create_opts: {
    sz: 'size_t',
    btf_fd: 'uint32_t',
    btf_key_type_id: 'uint32_t',
    btf_value_type_id: 'uint32_t',
    btf_vmlinux_value_type_id: 'uint32_t',
    inner_map_fd: 'uint32_t',
    map_flags: 'uint32_t',
    map_extra: 'uint64_t',
    numa_node: 'uint32_t',
    map_ifindex: 'uint32_t',
  },
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

export type FfiStructName = keyof typeof definitions;

/** Byte offsets core-bpf reads or writes by hand (LP64 Linux), checked with the structs. */
export const cOffsets = {
  /** sockaddr_in.sin_addr */
  sockaddrIn4Addr: 4,
  /** sockaddr_in6.sin6_addr */
  sockaddrIn6Addr: 8,
  /** CMSG_DATA: sizeof(struct cmsghdr) rounded up to size_t */
  cmsgData: 16,
} as const;

const types = new Map<FfiStructName, TypeObject>();

/** The koffi type of one of these structs (declared on first use as `bpfsteer_<name>`). */
export function ffiStruct(name: FfiStructName): TypeObject {
  let type = types.get(name);
  if (!type) {
    type = koffi.struct(`bpfsteer_${name}`, definitions[name]);
    types.set(name, type);
  }
  return type;
}

/** Declare every struct, so function signatures may name them (idempotent). */
export function declareFfiStructs(): void {
  for (const name of Object.keys(definitions) as FfiStructName[]) ffiStruct(name);
}

/** sizeof the struct: what libbpf's `sz` member of an option struct must hold. */
export function ffiStructSize(name: FfiStructName): number {
  return koffi.sizeof(ffiStruct(name));
}

/** Layouts as koffi computes them, for the header check: members whose name starts with `_` are stubs. */
export function ffiStructLayouts(): Array<{
  name: FfiStructName;
  size: number;
  members: Array<{ name: string; offset: number }>;
}> {
  return (Object.keys(definitions) as FfiStructName[]).map((name) => {
    const type = ffiStruct(name);
    return {
      name,
      size: koffi.sizeof(type),
      members: Object.keys(definitions[name])
        .filter((m) => !m.startsWith('_'))
        .map((m) => ({ name: m, offset: koffi.offsetof(type, m) })),
    };
  });
}
