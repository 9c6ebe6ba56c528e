/**
 * libbpf 1.1 functions for links, legacy tc filters, attach queries, object info and feature probes,
 * declared lazily, plus small wrappers that decode the kernel info buffers. libbpf 1.x returns
 * negative errno codes from int functions; `checkLibbpf` turns them into SyscallError.
 */
import { lazyFn, libbpfLib, lastErrno } from './lib.js';
import { infoOffsets, linkStruct } from './link-structs.js';
import { SyscallError } from '../errors.js';

let structsDeclared = false;
function fn<F extends (...args: any[]) => any>(signature: string): F {
  return lazyFn<F>(() => {
    if (!structsDeclared) {
      linkStruct('bpf_tc_hook');
      linkStruct('bpf_tc_opts');
      structsDeclared = true;
    }
    return libbpfLib();
  }, signature);
}

export interface TcHook {
  sz: number;
  ifindex: number;
  attach_point: number;
  parent: number;
}
export interface TcOpts {
  sz: number;
  prog_fd: number;
  flags: number;
  prog_id: number;
  handle: number;
  priority: number;
}

export const libbpfLink = {
  bpf_link_create: fn<(progFd: number, targetFd: number, attachType: number, opts: null) => number>(
    'int bpf_link_create(int prog_fd, int target_fd, int attach_type, const void *opts)',
  ),
  bpf_link_update: fn<(linkFd: number, progFd: number, opts: null) => number>(
    'int bpf_link_update(int link_fd, int new_prog_fd, const void *opts)',
  ),
  bpf_link_detach: fn<(linkFd: number) => number>('int bpf_link_detach(int link_fd)'),
  bpf_obj_pin: fn<(fd: number, path: string) => number>('int bpf_obj_pin(int fd, const char *pathname)'),
  bpf_obj_get: fn<(path: string) => number>('int bpf_obj_get(const char *pathname)'),
  bpf_obj_get_info_by_fd: fn<(fd: number, info: Buffer, len: Uint32Array) => number>(
    'int bpf_obj_get_info_by_fd(int fd, void *info, uint32_t *info_len)',
  ),
  bpf_prog_get_fd_by_id: fn<(id: number) => number>('int bpf_prog_get_fd_by_id(uint32_t id)'),
  bpf_prog_query: fn<
    (targetFd: number, type: number, flags: number, attachFlags: Uint32Array, ids: Uint32Array, count: Uint32Array) => number
  >(
    'int bpf_prog_query(int target_fd, int type, uint32_t query_flags, uint32_t *attach_flags, uint32_t *prog_ids, uint32_t *prog_cnt)',
  ),
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
  libbpf_probe_bpf_prog_type: fn<(type: number, opts: null) => number>(
    'int libbpf_probe_bpf_prog_type(int prog_type, const void *opts)',
  ),
  libbpf_probe_bpf_helper: fn<(progType: number, helperId: number, opts: null) => number>(
    'int libbpf_probe_bpf_helper(int prog_type, int helper_id, const void *opts)',
  ),
  libbpf_probe_bpf_map_type: fn<(type: number, opts: null) => number>(
    'int libbpf_probe_bpf_map_type(int map_type, const void *opts)',
  ),
};

/** Numbers from linux/bpf.h. The tcx attach types (kernel 6.6) are missing from libbpf 1.1's headers. */
export const BPF = {
  attach: {
    CGROUP_INET_INGRESS: 0,
    CGROUP_INET_EGRESS: 1,
    CGROUP_SOCK_OPS: 3,
    CGROUP_INET4_CONNECT: 10,
    SK_LOOKUP: 36,
    TCX_INGRESS: 46,
    TCX_EGRESS: 47,
  },
  prog: {
    SCHED_CLS: 3,
    CGROUP_SKB: 8,
    SOCK_OPS: 13,
    CGROUP_SOCK_ADDR: 18,
    SK_LOOKUP: 30,
  },
  map: {
    LPM_TRIE: 11,
    SOCKMAP: 15,
    SOCKHASH: 18,
    RINGBUF: 27,
  },
  link: {
    CGROUP: 3,
    NETNS: 5,
    TCX: 11,
  },
  tc: {
    INGRESS: 1,
    EGRESS: 2,
    F_REPLACE: 1,
  },
} as const;

/** Throw SyscallError when a libbpf int function returned a negative code. */
export function checkLibbpf(call: string, ret: number, context?: string): number {
  if (ret < 0) throw new SyscallError(call, -ret || lastErrno(), context);
  return ret;
}

export interface ProgInfo {
  type: number;
  id: number;
  /** the kernel's copy of the name: at most 15 characters */
  name: string;
}

/** Decode the first fields of a struct bpf_prog_info. */
export function decodeProgInfo(buf: Buffer): ProgInfo {
  const o = infoOffsets.prog;
  const raw = buf.subarray(o.name, o.name + o.nameLength);
  const end = raw.indexOf(0);
  return {
    type: buf.readUInt32LE(o.type),
    id: buf.readUInt32LE(o.id),
    name: raw.toString('utf8', 0, end < 0 ? raw.length : end),
  };
}

export interface LinkInfo {
  /** kernel link type (BPF.link.*) */
  type: number;
  id: number;
  progId: number;
  /** the link's target: netns inode, cgroup id or ifindex (0 once the target is gone) */
  targetId: bigint;
  attachType: number;
}

/** Decode a struct bpf_link_info for the link kinds core-bpf creates (netns, cgroup, tcx). */
export function decodeLinkInfo(buf: Buffer): LinkInfo {
  const o = infoOffsets.link;
  const type = buf.readUInt32LE(o.type);
  const base = { type, id: buf.readUInt32LE(o.id), progId: buf.readUInt32LE(o.progId) };
  switch (type) {
    case BPF.link.CGROUP:
      return { ...base, targetId: buf.readBigUInt64LE(o.cgroupId), attachType: buf.readUInt32LE(o.cgroupAttachType) };
    case BPF.link.NETNS:
      return { ...base, targetId: BigInt(buf.readUInt32LE(o.netnsIno)), attachType: buf.readUInt32LE(o.netnsAttachType) };
    case BPF.link.TCX:
      return { ...base, targetId: BigInt(buf.readUInt32LE(o.tcxIfindex)), attachType: buf.readUInt32LE(o.tcxAttachType) };
    default:
      return { ...base, targetId: 0n, attachType: -1 };
  }
}

function objInfo(fd: number, size: number, context: string): Buffer {
  const buf = Buffer.alloc(size);
  const len = new Uint32Array([size]);
  checkLibbpf('bpf_obj_get_info_by_fd', libbpfLink.bpf_obj_get_info_by_fd(fd, buf, len), context);
  return buf;
}

export function progInfo(fd: number, context: string): ProgInfo {
  return decodeProgInfo(objInfo(fd, infoOffsets.prog.size, context));
}

export function linkInfo(fd: number, context: string): LinkInfo {
  return decodeLinkInfo(objInfo(fd, infoOffsets.link.size, context));
}

/** Ids of the programs attached at a hook (target fd or ifindex + attach type). */
export function queryProgIds(target: number, attachType: number, context: string): number[] {
  let capacity = 64;
  for (;;) {
    const ids = new Uint32Array(capacity);
    const count = new Uint32Array([capacity]);
    const ret = libbpfLink.bpf_prog_query(target, attachType, 0, new Uint32Array(1), ids, count);
    if (ret === -28 /* ENOSPC: more programs than room */ && capacity < 4096) {
      capacity *= 4;
      continue;
    }
    checkLibbpf('bpf_prog_query', ret, context);
    return Array.from(ids.subarray(0, Math.min(count[0], capacity)));
  }
}
