/**
 * Every libbpf function core-bpf calls, declared once and lazily (objects, programs, maps, BTF,
 * links, tc filters, attach queries, feature probes, ring buffers; only libbpf_set_print, which needs
 * its callback type, lives in libbpf-log.ts). The newest came with libbpf 1.0 (libbpf_bpf_map_type_str,
 * libbpf_bpf_prog_type_str, by their symbol versions): libbpf.so.1 of any 1.x has them all. Pointers are bigint (null for NULL); `Bytes` is
 * a Buffer/typed array passed by address. libbpf 1.x returns negative errno codes from int functions
 * (`checkLibbpf` turns them into SyscallError) and NULL + errno from pointer functions.
 */
import { SyscallError } from '../errors.js';
import { declareFfiStructs } from './ffi-structs.js';
import { koffi, lazyFn, libbpfLib, type Ptr } from './lib.js';

export type Bytes = Uint8Array | null;

/** struct bpf_tc_hook as passed to koffi. */
export interface TcHook {
  sz: number;
  ifindex: number;
  attach_point: number;
  parent: number;
}

/** struct bpf_tc_opts as passed to koffi (prog_id is written back by attach/query). */
export interface TcOpts {
  sz: number;
  prog_fd: number;
  flags: number;
  prog_id: number;
  handle: number;
  priority: number;
}

function fn<F extends (...args: any[]) => any>(signature: string): F {
  return lazyFn<F>(() => {
    declareFfiStructs(); // signatures name the option structs
    return libbpfLib();
  }, signature);
}

/** Throw SyscallError when a libbpf int function returned a negative errno code; else return it. */
export function checkLibbpf(call: string, ret: number, context?: string): number {
  if (ret < 0) throw new SyscallError(call, ret, context);
  return ret;
}

export const libbpf = {
  // objects
  bpf_object__open_file: fn<(path: string, opts: object | null) => Ptr | null>(
    'void *bpf_object__open_file(const char *path, const bpfsteer_bpf_object_open_opts *opts)',
  ),
  bpf_object__open_mem: fn<(buf: Uint8Array, size: number, opts: object | null) => Ptr | null>(
    'void *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz, const bpfsteer_bpf_object_open_opts *opts)',
  ),
  bpf_object__load: fn<(obj: Ptr) => number>('int bpf_object__load(void *obj)'),
  bpf_object__close: fn<(obj: Ptr) => void>('void bpf_object__close(void *obj)'),
  bpf_object__name: fn<(obj: Ptr) => string>('const char *bpf_object__name(void *obj)'),
  bpf_object__btf: fn<(obj: Ptr) => Ptr | null>('void *bpf_object__btf(void *obj)'),
  bpf_object__next_program: fn<(obj: Ptr, prev: Ptr | null) => Ptr | null>(
    'void *bpf_object__next_program(void *obj, void *prev)',
  ),
  bpf_object__next_map: fn<(obj: Ptr, prev: Ptr | null) => Ptr | null>(
    'void *bpf_object__next_map(void *obj, void *prev)',
  ),

  // programs (struct bpf_program *)
  bpf_program__name: fn<(p: Ptr) => string>('const char *bpf_program__name(void *prog)'),
  bpf_program__section_name: fn<(p: Ptr) => string>('const char *bpf_program__section_name(void *prog)'),
  bpf_program__type: fn<(p: Ptr) => number>('int bpf_program__type(void *prog)'),
  bpf_program__expected_attach_type: fn<(p: Ptr) => number>('int bpf_program__expected_attach_type(void *prog)'),
  bpf_program__autoload: fn<(p: Ptr) => boolean>('bool bpf_program__autoload(void *prog)'),
  bpf_program__set_autoload: fn<(p: Ptr, on: boolean) => number>('int bpf_program__set_autoload(void *prog, bool on)'),
  bpf_program__fd: fn<(p: Ptr) => number>('int bpf_program__fd(void *prog)'),
  bpf_program__set_log_buf: fn<(p: Ptr, buf: Bytes, size: number) => number>(
    'int bpf_program__set_log_buf(void *prog, void *buf, size_t size)',
  ),
  bpf_program__set_log_level: fn<(p: Ptr, level: number) => number>(
    'int bpf_program__set_log_level(void *prog, uint32_t level)',
  ),

  // maps (struct bpf_map *)
  bpf_map__name: fn<(m: Ptr) => string>('const char *bpf_map__name(void *map)'),
  bpf_map__type: fn<(m: Ptr) => number>('int bpf_map__type(void *map)'),
  bpf_map__key_size: fn<(m: Ptr) => number>('uint32_t bpf_map__key_size(void *map)'),
  bpf_map__value_size: fn<(m: Ptr) => number>('uint32_t bpf_map__value_size(void *map)'),
  bpf_map__max_entries: fn<(m: Ptr) => number>('uint32_t bpf_map__max_entries(void *map)'),
  bpf_map__set_max_entries: fn<(m: Ptr, n: number) => number>(
    'int bpf_map__set_max_entries(void *map, uint32_t max_entries)',
  ),
  bpf_map__map_flags: fn<(m: Ptr) => number>('uint32_t bpf_map__map_flags(void *map)'),
  bpf_map__map_extra: fn<(m: Ptr) => bigint | number>('uint64_t bpf_map__map_extra(void *map)'),
  bpf_map__fd: fn<(m: Ptr) => number>('int bpf_map__fd(void *map)'),
  bpf_map__is_internal: fn<(m: Ptr) => boolean>('bool bpf_map__is_internal(void *map)'),
  bpf_map__autocreate: fn<(m: Ptr) => boolean>('bool bpf_map__autocreate(void *map)'),
  bpf_map__set_autocreate: fn<(m: Ptr, on: boolean) => number>('int bpf_map__set_autocreate(void *map, bool on)'),
  bpf_map__pin_path: fn<(m: Ptr) => string | null>('const char *bpf_map__pin_path(void *map)'),
  bpf_map__set_pin_path: fn<(m: Ptr, path: string | null) => number>(
    'int bpf_map__set_pin_path(void *map, const char *path)',
  ),
  bpf_map__is_pinned: fn<(m: Ptr) => boolean>('bool bpf_map__is_pinned(void *map)'),
  bpf_map__btf_key_type_id: fn<(m: Ptr) => number>('uint32_t bpf_map__btf_key_type_id(void *map)'),
  bpf_map__btf_value_type_id: fn<(m: Ptr) => number>('uint32_t bpf_map__btf_value_type_id(void *map)'),
  bpf_map__initial_value: fn<(m: Ptr, size: BigUint64Array) => Ptr | null>(
    'void *bpf_map__initial_value(void *map, void *psize)',
  ),

  // syscall wrappers (fds)
  bpf_map_lookup_elem: fn<(fd: number, key: Bytes, value: Bytes) => number>(
    'int bpf_map_lookup_elem(int fd, const void *key, void *value)',
  ),
  bpf_map_update_elem: fn<(fd: number, key: Bytes, value: Bytes, flags: number) => number>(
    'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)',
  ),
  bpf_map_delete_elem: fn<(fd: number, key: Bytes) => number>('int bpf_map_delete_elem(int fd, const void *key)'),
  bpf_map_lookup_and_delete_elem: fn<(fd: number, key: Bytes, value: Bytes) => number>(
    'int bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value)',
  ),
  bpf_map_get_next_key: fn<(fd: number, key: Bytes, next: Bytes) => number>(
    'int bpf_map_get_next_key(int fd, const void *key, void *next_key)',
  ),
  bpf_map_lookup_batch: fn<
    (fd: number, inBatch: Bytes, outBatch: Bytes, keys: Bytes, values: Bytes, count: Uint32Array, opts: object) => number
  >(
    'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, uint32_t *count, const bpfsteer_bpf_map_batch_opts *opts)',
  ),
  bpf_map_update_batch: fn<(fd: number, keys: Bytes, values: Bytes, count: Uint32Array, opts: object) => number>(
    'int bpf_map_update_batch(int fd, const void *keys, const void *values, uint32_t *count, const bpfsteer_bpf_map_batch_opts *opts)',
  ),
  bpf_map_delete_batch: fn<(fd: number, keys: Bytes, count: Uint32Array, opts: object) => number>(
    'int bpf_map_delete_batch(int fd, const void *keys, uint32_t *count, const bpfsteer_bpf_map_batch_opts *opts)',
  ),
  bpf_map_create: fn<
    (type: number, name: string | null, keySize: number, valueSize: number, maxEntries: number, opts: object) => number
  >(
    'int bpf_map_create(int map_type, const char *map_name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const bpfsteer_bpf_map_create_opts *opts)',
  ),
  bpf_map_freeze: fn<(fd: number) => number>('int bpf_map_freeze(int fd)'),
  bpf_obj_pin: fn<(fd: number, path: string) => number>('int bpf_obj_pin(int fd, const char *pathname)'),
  bpf_obj_get: fn<(path: string) => number>('int bpf_obj_get(const char *pathname)'),
  bpf_obj_get_info_by_fd: fn<(fd: number, info: Bytes, len: Uint32Array) => number>(
    'int bpf_obj_get_info_by_fd(int fd, void *info, uint32_t *info_len)',
  ),
  bpf_map_get_fd_by_id: fn<(id: number) => number>('int bpf_map_get_fd_by_id(uint32_t id)'),
  bpf_prog_get_fd_by_id: fn<(id: number) => number>('int bpf_prog_get_fd_by_id(uint32_t id)'),
  bpf_prog_test_run_opts: fn<(fd: number, opts: Record<string, unknown>) => number>(
    'int bpf_prog_test_run_opts(int prog_fd, _Inout_ bpfsteer_bpf_test_run_opts *opts)',
  ),

  // BTF (struct btf *)
  btf__load_vmlinux_btf: fn<() => Ptr | null>('void *btf__load_vmlinux_btf(void)'),
  btf__load_from_kernel_by_id: fn<(id: number) => Ptr | null>('void *btf__load_from_kernel_by_id(uint32_t id)'),
  btf__free: fn<(btf: Ptr) => void>('void btf__free(void *btf)'),
  btf__type_cnt: fn<(btf: Ptr) => number>('uint32_t btf__type_cnt(void *btf)'),
  btf__type_by_id: fn<(btf: Ptr, id: number) => Ptr | null>('void *btf__type_by_id(void *btf, uint32_t id)'),
  btf__name_by_offset: fn<(btf: Ptr, offset: number) => string | null>(
    'const char *btf__name_by_offset(void *btf, uint32_t offset)',
  ),
  btf__find_by_name_kind: fn<(btf: Ptr, name: string, kind: number) => number>(
    'int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)',
  ),

  // links and attach queries
  bpf_link_create: fn<(progFd: number, targetFd: number, attachType: number, opts: null) => number>(
    'int bpf_link_create(int prog_fd, int target_fd, int attach_type, const void *opts)',
  ),
  bpf_link_update: fn<(linkFd: number, progFd: number, opts: null) => number>(
    'int bpf_link_update(int link_fd, int new_prog_fd, const void *opts)',
  ),
  bpf_link_detach: fn<(linkFd: number) => number>('int bpf_link_detach(int link_fd)'),
  bpf_prog_query: fn<
    (targetFd: number, type: number, flags: number, attachFlags: Uint32Array, ids: Uint32Array, count: Uint32Array) => number
  >(
    'int bpf_prog_query(int target_fd, int type, uint32_t query_flags, uint32_t *attach_flags, uint32_t *prog_ids, uint32_t *prog_cnt)',
  ),

  // legacy tc filters (netlink)
  bpf_tc_hook_create: fn<(hook: TcHook) => number>('int bpf_tc_hook_create(bpfsteer_bpf_tc_hook *hook)'),
  bpf_tc_attach: fn<(hook: TcHook, opts: TcOpts) => number>(
    'int bpf_tc_attach(const bpfsteer_bpf_tc_hook *hook, _Inout_ bpfsteer_bpf_tc_opts *opts)',
  ),
  bpf_tc_detach: fn<(hook: TcHook, opts: TcOpts) => number>(
    'int bpf_tc_detach(const bpfsteer_bpf_tc_hook *hook, const bpfsteer_bpf_tc_opts *opts)',
  ),
  bpf_tc_query: fn<(hook: TcHook, opts: TcOpts) => number>(
    'int bpf_tc_query(const bpfsteer_bpf_tc_hook *hook, _Inout_ bpfsteer_bpf_tc_opts *opts)',
  ),

  // feature probes
  libbpf_probe_bpf_prog_type: fn<(type: number, opts: null) => number>(
    'int libbpf_probe_bpf_prog_type(int prog_type, const void *opts)',
  ),
  libbpf_probe_bpf_helper: fn<(progType: number, helperId: number, opts: null) => number>(
    'int libbpf_probe_bpf_helper(int prog_type, int helper_id, const void *opts)',
  ),
  libbpf_probe_bpf_map_type: fn<(type: number, opts: null) => number>(
    'int libbpf_probe_bpf_map_type(int map_type, const void *opts)',
  ),

  // ring buffers (struct ring_buffer *); sample_cb is a pointer from registerRingBufferSample
  ring_buffer__new: fn<(mapFd: number, sampleCb: Ptr, ctx: null, opts: null) => Ptr | null>(
    'void *ring_buffer__new(int map_fd, void *sample_cb, void *ctx, const void *opts)',
  ),
  ring_buffer__consume: fn<(rb: Ptr) => number>('int ring_buffer__consume(void *rb)'),
  ring_buffer__epoll_fd: fn<(rb: Ptr) => number>('int ring_buffer__epoll_fd(const void *rb)'),
  ring_buffer__free: fn<(rb: Ptr) => void>('void ring_buffer__free(void *rb)'),

  // misc
  libbpf_num_possible_cpus: fn<() => number>('int libbpf_num_possible_cpus(void)'),
  libbpf_bpf_map_type_str: fn<(t: number) => string | null>('const char *libbpf_bpf_map_type_str(int t)'),
  libbpf_bpf_prog_type_str: fn<(t: number) => string | null>('const char *libbpf_bpf_prog_type_str(int t)'),
};

/** libbpf's ring_buffer_sample_fn: `data` points at `size` bytes of one record inside the ring. */
export type RingBufferSampleFn = (ctx: Ptr | null, data: Ptr, size: number | bigint) => number;

let sampleProto: ReturnType<typeof koffi.pointer> | undefined;

/**
 * Register `fn` as a native ring_buffer_sample_fn; pass the returned pointer to ring_buffer__new and
 * give it back to `unregisterCallback` once the ring buffer is freed (koffi has a limited number of
 * slots). libbpf calls it synchronously, on the thread that called ring_buffer__consume.
 */
export function registerRingBufferSample(fn: RingBufferSampleFn): Ptr {
  sampleProto ??= koffi.pointer(koffi.proto('int bpfsteer_ring_buffer_sample_fn(void *ctx, void *data, size_t size)'));
  return koffi.register(fn, sampleProto);
}

export function unregisterCallback(callback: Ptr): void {
  koffi.unregister(callback);
}
