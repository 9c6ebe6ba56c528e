/**
 * The libbpf option structs core-bpf passes through koffi, declared once and lazily. Their layouts
 * are hand-written from the libbpf 1.1 headers and checked against those headers (clang offsetof) by
 * test/ffi-layouts.kernel.test.ts, through `ffiStructLayouts` below.
 */
import { koffi } from './lib.js';

type TypeObject = ReturnType<typeof koffi.struct>;

/** Member order and C types of each struct, the single source for both koffi and the layout test. */
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
} as const;

export type FfiStructName = keyof typeof definitions;

const types = new Map<FfiStructName, TypeObject>();

/** The koffi type of a libbpf option struct (declared on first use). */
export function ffiStruct(name: FfiStructName): TypeObject {
  let type = types.get(name);
  if (!type) {
    type = koffi.struct(name, definitions[name]);
    types.set(name, type);
  }
  return type;
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
