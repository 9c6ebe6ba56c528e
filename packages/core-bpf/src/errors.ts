/**
 * The one error hierarchy of bpfsteer's kernel layer. Every error has a stable `code` that callers
 * may switch on; messages are lower-case context chains ("attach tcx link: bpf_link_create: EEXIST").
 * No errno numbers leave core-bpf: syscall errors carry the errno *name*.
 */
import { constants } from 'node:os';

export type BpfErrorCode =
  | 'ERR_BPF_SYSCALL'
  | 'ERR_BPF_VERIFIER'
  | 'ERR_BPF_NOT_SUPPORTED'
  | 'ERR_BPF_NOT_PERMITTED'
  | 'ERR_BPF_MAP_LAYOUT'
  | 'ERR_BPF_PIN_INCOMPATIBLE'
  | 'ERR_BPF_NOT_FOUND'
  | 'ERR_BPF_INVALID_ARGUMENT'
  | 'ERR_BPF_CLOSED'
  | 'ERR_BPF_ALREADY_ATTACHED';

export class BpfError extends Error {
  readonly code: BpfErrorCode;
  constructor(code: BpfErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * errno numbers by name, the one table inside core-bpf (Node's, for this platform), plus ENOTSUPP:
 * the kernel-internal "operation not supported" that the bpf syscall can return.
 */
export const ERRNO = { ...constants.errno, ENOTSUPP: 524 } as const;

/** Aliases that share a number with the name the kernel uses (EAGAIN, EDEADLK, EOPNOTSUPP). */
const aliases = new Set(['EWOULDBLOCK', 'EDEADLOCK', 'ENOTSUP']);
const errnoNames = new Map<number, string>(
  Object.entries(ERRNO)
    .filter(([name]) => !aliases.has(name))
    .map(([name, num]): [number, string] => [num, name]),
);

/** Name of an errno number ("ENOENT"), or "errno N" if unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

/** A failed system or libbpf call: names the call and the errno. */
export class SyscallError extends BpfError {
  /** The errno name, e.g. "EPERM". */
  readonly errno: string;
  /** The call that failed, e.g. "bpf_map_update_elem". */
  readonly call: string;
  /** libbpf's own explanation (its warning lines), when there was one. */
  readonly detail?: string;
  constructor(call: string, errno: number, context?: string, detail?: string) {
    const name = errnoName(errno);
    super('ERR_BPF_SYSCALL', `${context ? `${context}: ` : ''}${call}: ${name}${detail ? ` (${detail})` : ''}`);
    this.detail = detail;
    this.errno = name;
    this.call = call;
  }
}

/** The verifier rejected a program; `log` holds the whole verifier log. */
export class VerifierError extends BpfError {
  readonly program: string;
  readonly log: string;
  /**
   * set when the verifier held the program to its rules for unprivileged programs because the
   * process lacks a capability (what it lacks): the program itself may be fine
   */
  readonly missingPrivilege?: string;
  constructor(program: string, log: string, errno: string, missingPrivilege?: string) {
    const tail = log.trim().split('\n').slice(-3).join(' | ');
    const cause = missingPrivilege ? ` under its rules for unprivileged programs, as ${missingPrivilege}` : '';
    super('ERR_BPF_VERIFIER', `load program ${program}: verifier rejected it (${errno})${cause}: ${tail}`);
    this.program = program;
    this.log = log;
    if (missingPrivilege) this.missingPrivilege = missingPrivilege;
  }
}

/** A kernel feature this machine lacks. */
export class NotSupportedError extends BpfError {
  readonly feature: string;
  readonly minKernel?: string;
  constructor(feature: string, minKernel?: string, detail?: string) {
    super(
      'ERR_BPF_NOT_SUPPORTED',
      `${feature} is not supported on this kernel${minKernel ? ` (needs >= ${minKernel})` : ''}${detail ? `: ${detail}` : ''}`,
    );
    this.feature = feature;
    this.minKernel = minKernel;
  }
}

/** A kernel feature this process may not use: it lacks the privilege (EPERM), not the kernel the feature. */
export class NotPermittedError extends BpfError {
  readonly feature: string;
  constructor(feature: string, detail?: string) {
    super('ERR_BPF_NOT_PERMITTED', `${feature} is not permitted to this process${detail ? `: ${detail}` : ''}`);
    this.feature = feature;
  }
}

/** A codec's size or field layout disagrees with the kernel map or the object's BTF. */
export class MapLayoutError extends BpfError {
  constructor(map: string, detail: string) {
    super('ERR_BPF_MAP_LAYOUT', `map ${map}: layout mismatch: ${detail}`);
  }
}

/** A pinned object exists at the path but is not compatible with what the program expects. */
export class PinIncompatibleError extends BpfError {
  readonly path: string;
  constructor(path: string, detail: string) {
    super('ERR_BPF_PIN_INCOMPATIBLE', `pinned object ${path} is incompatible: ${detail}`);
    this.path = path;
  }
}

export class NotFoundError extends BpfError {
  /** `detail`: why, when known (e.g. "it was closed") */
  constructor(what: string, detail?: string) {
    super('ERR_BPF_NOT_FOUND', `${what} not found${detail ? `: ${detail}` : ''}`);
  }
}

export class InvalidArgumentError extends BpfError {
  constructor(message: string) {
    super('ERR_BPF_INVALID_ARGUMENT', message);
  }
}

export class ClosedError extends BpfError {
  constructor(what: string) {
    super('ERR_BPF_CLOSED', `${what} is closed`);
  }
}

/** The same program (same id, or same kernel name and type) is already attached at that hook. */
export class AlreadyAttachedError extends BpfError {
  readonly hook: string;
  constructor(hook: string, detail: string) {
    super('ERR_BPF_ALREADY_ATTACHED', `${hook}: ${detail}`);
    this.hook = hook;
  }
}
