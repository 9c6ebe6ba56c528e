/**
 * One Link abstraction for every attach point, and its implementation for kernel bpf_link fds
 * (tcx, sk_lookup, cgroup). The legacy netlink tc filter, which is not an fd, has its own
 * implementation in netlink-tc-link.ts.
 */
import { closeSync } from 'node:fs';
import { BPF } from './ffi/bpf-constants.js';
import { checkLibbpf, libbpf } from './ffi/libbpf-api.js';
import { ClosedError, ERRNO, InvalidArgumentError } from './errors.js';
import type { ProgramType } from './program-type.js';
import { type ProgramInfo, readProgramInfo } from './object-info.js';
import { bpfFdKind, validatePinPath } from './bpffs.js';
import { pinFd, unlinkPin } from './pin-path.js';
import { validateFd } from './socket-options.js';

/** Anything holding a loaded program: BpfProgram satisfies it. */
export interface ProgramRef {
  readonly fd: number;
  readonly name: string;
}

export type LinkType =
  | 'tcx-ingress'
  | 'tcx-egress'
  | 'netlink-tc-ingress'
  | 'netlink-tc-egress'
  | 'sk_lookup'
  | 'cgroup_skb-ingress'
  | 'cgroup_skb-egress'
  | 'cgroup-connect4'
  | 'cgroup-connect6'
  | 'cgroup-getsockopt'
  | 'sockops';

export interface Link extends Disposable {
  readonly type: LinkType;
  /** human readable target, e.g. "veth0 (ifindex 4) in netns lab1" */
  readonly target: string;
  /** where the link is pinned, if it is */
  readonly pinnedPath?: string;
  /**
   * True when this handle re-adopted an attachment an earlier run pinned (attach with an existing
   * pinPath, openPinnedLink); false for one this handle created. After a failed start, keep the
   * adopted ones and detach the others (see BpfObject.removeNewPins for maps).
   */
  readonly adopted: boolean;
  /** Pin at `path` (on bpffs): the attachment then outlives this process. */
  pin(path: string): void;
  /** Remove the pin (the attachment then lives only as long as this handle). No-op when not pinned. */
  unpin(): void;
  /** Atomically run `prog` instead of the current program. */
  update(prog: ProgramRef): void;
  /** Release this handle: an unpinned link detaches, a pinned one stays attached. */
  close(): void;
  /** Really remove the attachment from the kernel (and its pin). */
  detach(): void;
}

/** Our name of a kernel link given its link type and attach type (undefined for kinds we do not create). */
export function linkTypeName(kernelLinkType: number, attachType: number): LinkType | undefined {
  const a = BPF.attach;
  switch (kernelLinkType) {
    case BPF.link.TCX:
      return attachType === a.TCX_INGRESS ? 'tcx-ingress' : attachType === a.TCX_EGRESS ? 'tcx-egress' : undefined;
    case BPF.link.NETNS:
      return attachType === a.SK_LOOKUP ? 'sk_lookup' : undefined;
    case BPF.link.CGROUP:
      switch (attachType) {
        case a.CGROUP_INET_INGRESS:
          return 'cgroup_skb-ingress';
        case a.CGROUP_INET_EGRESS:
          return 'cgroup_skb-egress';
        case a.CGROUP_INET4_CONNECT:
          return 'cgroup-connect4';
        case a.CGROUP_INET6_CONNECT:
          return 'cgroup-connect6';
        case a.CGROUP_GETSOCKOPT:
          return 'cgroup-getsockopt';
        case a.CGROUP_SOCK_OPS:
          return 'sockops';
        default:
          return undefined;
      }
    default:
      return undefined;
  }
}

/** Kernel info of a program reference, checking that its fd really is a BPF program of an allowed type. */
export function inspectProgram(prog: ProgramRef, allowedTypes: readonly ProgramType[], what: string): ProgramInfo {
  if (prog === null || typeof prog !== 'object') {
    throw new InvalidArgumentError(`${what}: expected a program (an object with fd and name), got ${String(prog)}`);
  }
  validateFd(prog.fd, `program fd of ${String(prog.name)}`);
  if (bpfFdKind(prog.fd) !== 'prog') {
    throw new InvalidArgumentError(`${what}: fd ${prog.fd} of program ${String(prog.name)} is not an open BPF program (closed?)`);
  }
  const info = readProgramInfo(prog.fd, `${what}: inspect program ${prog.name}`);
  if (!allowedTypes.includes(info.type)) {
    throw new InvalidArgumentError(
      `${what}: program ${prog.name} is of type ${info.type}, this attach point takes ${allowedTypes.join(' or ')}`,
    );
  }
  return info;
}

/** A kernel bpf_link held by an fd. */
export class FdLink implements Link {
  readonly type: LinkType;
  readonly target: string;
  readonly adopted: boolean;
  readonly #allowedProgTypes: readonly ProgramType[];
  #fd: number;
  #pinnedPath: string | undefined;

  constructor(
    fd: number,
    type: LinkType,
    target: string,
    allowedProgTypes: readonly ProgramType[],
    pinnedPath?: string,
    adopted = false,
  ) {
    this.#fd = fd;
    this.type = type;
    this.target = target;
    this.#allowedProgTypes = allowedProgTypes;
    this.#pinnedPath = pinnedPath;
    this.adopted = adopted;
  }

  get pinnedPath(): string | undefined {
    return this.#pinnedPath;
  }

  /** The link fd (tests and diagnostics). */
  get fd(): number {
    return this.#open();
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  #open(): number {
    if (this.#fd < 0) throw new ClosedError(`${this.type} link on ${this.target}`);
    return this.#fd;
  }

  pin(path: string): void {
    const fd = this.#open();
    const p = validatePinPath(path);
    if (this.#pinnedPath === p) return;
    if (this.#pinnedPath !== undefined) {
      throw new InvalidArgumentError(`${this.type} link on ${this.target} is already pinned at ${this.#pinnedPath}; unpin it first`);
    }
    this.#pinnedPath = pinFd(fd, p, `${this.type} link on ${this.target}`);
  }

  unpin(): void {
    const p = this.#pinnedPath;
    if (p === undefined) return;
    unlinkPin(p, `unpin ${this.type} link at ${p}`);
    this.#pinnedPath = undefined;
  }

  update(prog: ProgramRef): void {
    const fd = this.#open();
    const what = `update ${this.type} link on ${this.target}`;
    inspectProgram(prog, this.#allowedProgTypes, what);
    checkLibbpf('bpf_link_update', libbpf.bpf_link_update(fd, prog.fd, null), `${what} to program ${prog.name}`);
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  detach(): void {
    const fd = this.#open();
    const ret = libbpf.bpf_link_detach(fd);
    // ENOLINK: already detached (its target went away)
    if (ret !== -ERRNO.ENOLINK) checkLibbpf('bpf_link_detach', ret, `detach ${this.type} link on ${this.target}`);
    this.unpin();
    this.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
