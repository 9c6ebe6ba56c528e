/**
 * The legacy tc attachment: a cls_bpf filter (direct-action) on the clsact qdisc of an interface,
 * managed over netlink by libbpf's bpf_tc_* functions. Used where tcx (kernel >= 6.6) is missing or
 * when asked for explicitly.
 *
 * Such a filter is not a bpf_link and has no fd: it stays in the kernel by itself until it is
 * deleted or its interface/netns goes away, also after this process exits. So for this link kind:
 * - identity: each filter sits at a fixed priority (NETLINK_TC_PRIORITY) and a handle derived from
 *   its pin path (or, without one, from the program's kernel name); attaching again at the same
 *   handle REPLACES the filter (BPF_TC_F_REPLACE), so repeated attaches never stack;
 * - pin(path) records the *program* the filter runs at `path` on bpffs. The filter does not need the
 *   pin to stay attached; the pin lets a later process find and re-adopt it (attachTc with the same
 *   pinPath replaces the filter in place and re-pins the new program; openPinnedLink(path) finds the
 *   filter running the pinned program) and keeps the program loaded;
 * - close() on an unpinned handle deletes the filter (like an fd link whose last fd closes); on a
 *   pinned one it only forgets the handle. A process that exits without close() leaves the filter.
 * - detach() deletes the filter and the pin.
 * Two handles for the same filter (a re-attach at the same handle) are two views of one filter:
 * closing or detaching either removes it.
 */
import { existsSync, closeSync } from 'node:fs';
import { BPF } from './ffi/bpf-constants.js';
import { ffiStructSize } from './ffi/ffi-structs.js';
import { checkLibbpf, libbpf, type TcHook, type TcOpts } from './ffi/libbpf-api.js';
import { ClosedError, ERRNO, InvalidArgumentError, NotFoundError, SyscallError } from './errors.js';
import { captureLibbpfLog } from './ffi/libbpf-log.js';
import { validatePinPath } from './bpffs.js';
import { inspectProgram, type Link, type LinkType, type ProgramRef } from './link.js';
import { inNetns, NetnsHandle } from './netns.js';
import { pinFd, unlinkPin } from './pin-path.js';

export type TcDirection = 'ingress' | 'egress';

/** Priority of every filter core-bpf installs (tc prints it as "pref"). */
export const NETLINK_TC_PRIORITY = 0x2f00;

const { ENOENT, ENODEV, EEXIST } = ERRNO;
/** bpf_tc_query/detach report EINVAL when the interface has no clsact qdisc at all */
const EINVAL_NO_QDISC = ERRNO.EINVAL;

/** The filter handle for a key (pin path or program name): 32-bit FNV-1a, never 0. */
export function netlinkTcHandle(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h === 0 ? 1 : h;
}

export function tcHook(ifindex: number, direction: TcDirection): TcHook {
  return { sz: ffiStructSize('bpf_tc_hook'), ifindex, attach_point: direction === 'ingress' ? BPF.tc.INGRESS : BPF.tc.EGRESS, parent: 0 };
}

export function tcOpts(fields: Partial<Omit<TcOpts, 'sz'>>): TcOpts {
  return { sz: ffiStructSize('bpf_tc_opts'), prog_fd: 0, flags: 0, prog_id: 0, handle: 0, priority: 0, ...fields };
}

/**
 * Run one bpf_tc_* call with libbpf's messages captured (the kernel's netlink error text becomes the
 * error detail instead of a line on stderr). Returns the result; negative codes in `tolerated` are
 * returned, others thrown.
 */
function tcCall(call: string, fn: () => number, context: string, tolerated: readonly number[] = []): number {
  const { result, lines } = captureLibbpfLog(fn);
  if (result < 0 && !tolerated.includes(result)) {
    throw new SyscallError(call, -result, context, lines.map((l) => l.replace(/^Kernel error message: /, '')).join('; ') || undefined);
  }
  return result;
}

/** Create the clsact qdisc if needed (an existing one is fine). */
export function ensureClsact(ifindex: number, direction: TcDirection, context: string): void {
  tcCall('bpf_tc_hook_create', () => libbpf.bpf_tc_hook_create(tcHook(ifindex, direction)), context, [-EEXIST]);
}

/** The id of the program our filter at (handle, NETLINK_TC_PRIORITY) runs, or undefined when there is none. */
export function queryNetlinkTc(ifindex: number, direction: TcDirection, handle: number, context: string): number | undefined {
  const opts = tcOpts({ handle, priority: NETLINK_TC_PRIORITY });
  const ret = tcCall('bpf_tc_query', () => libbpf.bpf_tc_query(tcHook(ifindex, direction), opts), context, [-ENOENT, -EINVAL_NO_QDISC]);
  return ret < 0 ? undefined : opts.prog_id;
}

/** Install or replace the filter at `handle`; returns the id of the program it now runs. */
export function replaceNetlinkTc(ifindex: number, direction: TcDirection, handle: number, progFd: number, context: string): number {
  const opts = tcOpts({ prog_fd: progFd, flags: BPF.tc.F_REPLACE, handle, priority: NETLINK_TC_PRIORITY });
  tcCall('bpf_tc_attach', () => libbpf.bpf_tc_attach(tcHook(ifindex, direction), opts), context);
  return opts.prog_id;
}

/** Delete the filter at `handle`; false when it was already gone. */
export function deleteNetlinkTc(ifindex: number, direction: TcDirection, handle: number, context: string): boolean {
  const opts = tcOpts({ handle, priority: NETLINK_TC_PRIORITY });
  const ret = tcCall('bpf_tc_detach', () => libbpf.bpf_tc_detach(tcHook(ifindex, direction), opts), context, [
    -ENOENT,
    -ENODEV,
    -EINVAL_NO_QDISC,
  ]);
  return ret >= 0;
}

/** Pin the program with id `progId` at `path`. */
function pinProgramId(progId: number, path: string, context: string): void {
  const fd = checkLibbpf('bpf_prog_get_fd_by_id', libbpf.bpf_prog_get_fd_by_id(progId), context);
  try {
    pinFd(fd, path, `program id ${progId}`);
  } finally {
    closeSync(fd);
  }
}

export interface NetlinkTcState {
  ifname: string;
  ifindex: number;
  direction: TcDirection;
  netns?: string;
  handle: number;
  progId: number;
  pinnedPath?: string;
  /** the filter was found through a pin an earlier run made */
  adopted?: boolean;
}

/** Run `fn` in the link's netns; undefined when that netns no longer exists (the filter died with it). */
function inLinkNetns<T>(netns: string | undefined, fn: () => T): T | undefined {
  if (netns === undefined) return fn();
  let handle: NetnsHandle;
  try {
    handle = NetnsHandle.open(netns);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  try {
    return inNetns(handle, fn);
  } finally {
    handle.close();
  }
}

export class NetlinkTcLink implements Link {
  readonly type: LinkType;
  readonly target: string;
  readonly adopted: boolean;
  readonly #s: NetlinkTcState;
  #closed = false;

  constructor(state: NetlinkTcState) {
    this.#s = { ...state };
    this.adopted = state.adopted ?? false;
    this.type = state.direction === 'ingress' ? 'netlink-tc-ingress' : 'netlink-tc-egress';
    this.target = `${state.ifname} (ifindex ${state.ifindex})${state.netns === undefined ? '' : ` in netns ${state.netns}`}`;
  }

  get pinnedPath(): string | undefined {
    return this.#s.pinnedPath;
  }

  /** The filter handle (tc prints it as "handle 0x..."). */
  get handle(): number {
    return this.#s.handle;
  }

  get priority(): number {
    return NETLINK_TC_PRIORITY;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #open(): NetlinkTcState {
    if (this.#closed) throw new ClosedError(`${this.type} filter on ${this.target}`);
    return this.#s;
  }

  pin(path: string): void {
    const s = this.#open();
    const p = validatePinPath(path);
    if (s.pinnedPath === p) return;
    if (s.pinnedPath !== undefined) {
      throw new InvalidArgumentError(`${this.type} filter on ${this.target} is already pinned at ${s.pinnedPath}; unpin it first`);
    }
    const context = `pin ${this.type} filter on ${this.target} at ${p}`;
    const running = inLinkNetns(s.netns, () => queryNetlinkTc(s.ifindex, s.direction, s.handle, context));
    if (running === undefined) throw new NotFoundError(`${this.type} filter on ${this.target} (it was deleted)`);
    s.progId = running;
    pinProgramId(running, p, context);
    s.pinnedPath = p;
  }

  unpin(): void {
    const s = this.#s;
    if (s.pinnedPath === undefined) return;
    unlinkPin(s.pinnedPath, `unpin ${this.type} filter at ${s.pinnedPath}`);
    s.pinnedPath = undefined;
  }

  update(prog: ProgramRef): void {
    const s = this.#open();
    const what = `update ${this.type} filter on ${this.target}`;
    inspectProgram(prog, ['sched_cls'], what);
    const id = inLinkNetns(s.netns, () => replaceNetlinkTc(s.ifindex, s.direction, s.handle, prog.fd, `${what} to program ${prog.name}`));
    if (id === undefined) throw new NotFoundError(`network namespace ${s.netns} of ${this.type} filter on ${this.target}`);
    s.progId = id;
    if (s.pinnedPath !== undefined) {
      // the pin records the program the filter runs
      unlinkPin(s.pinnedPath, what);
      pinFd(prog.fd, s.pinnedPath, `${what}: program ${prog.name}`);
    }
  }

  close(): void {
    if (this.#closed) return;
    if (this.#s.pinnedPath === undefined) this.#delete();
    this.#closed = true;
  }

  detach(): void {
    this.#open();
    this.#delete();
    this.unpin();
    this.#closed = true;
  }

  #delete(): void {
    const s = this.#s;
    inLinkNetns(s.netns, () => deleteNetlinkTc(s.ifindex, s.direction, s.handle, `detach ${this.type} filter on ${this.target}`));
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface NetlinkAttachSpec {
  prog: ProgramRef;
  progKernelName: string;
  ifname: string;
  ifindex: number;
  direction: TcDirection;
  netns?: string;
  pinPath?: string;
  what: string;
}

/** Install (or replace) our filter; must run inside the interface's netns. */
export function attachNetlinkTc(spec: NetlinkAttachSpec): NetlinkTcLink {
  const handle = netlinkTcHandle(spec.pinPath ?? spec.progKernelName);
  ensureClsact(spec.ifindex, spec.direction, `${spec.what}: create clsact qdisc`);
  const hadPin = spec.pinPath !== undefined && existsSync(spec.pinPath);
  const progId = replaceNetlinkTc(spec.ifindex, spec.direction, handle, spec.prog.fd, `${spec.what}: program ${spec.prog.name}`);
  if (spec.pinPath !== undefined) {
    try {
      if (hadPin) unlinkPin(spec.pinPath, spec.what);
      pinFd(spec.prog.fd, spec.pinPath, `${spec.what}: program ${spec.prog.name}`);
    } catch (err) {
      if (!hadPin) deleteNetlinkTc(spec.ifindex, spec.direction, handle, spec.what); // leave nothing behind
      throw err;
    }
  }
  return new NetlinkTcLink({
    ifname: spec.ifname,
    ifindex: spec.ifindex,
    direction: spec.direction,
    netns: spec.netns,
    handle,
    progId,
    pinnedPath: spec.pinPath,
    adopted: hadPin,
  });
}
