/**
 * A BPF program: one of a loaded BpfObject (owned by it), or opened from a pin or an id (owns its fd).
 * Attaching lives in the link modules; they reach the native handle through `nativeProgram`.
 */
import { closeSync } from 'node:fs';
import { InvalidArgumentError, PinIncompatibleError } from './errors.js';
import { ffiStructSize } from './ffi/ffi-structs.js';
import type { Ptr } from './ffi/lib.js';
import { checkLibbpf, libbpf } from './ffi/libbpf-api.js';
import { Lifetime } from './lifetime.js';
import { validatePinPath } from './bpffs.js';
import { type ProgramInfo, readProgramInfo } from './object-info.js';
import { openPin, pinFd } from './pin-path.js';
import type { ProgramType } from './program-type.js';

/** Input of a BPF_PROG_TEST_RUN. */
export interface TestRunOptions {
  /** Packet (or other input) data; for tc programs an Ethernet frame of at least 14 bytes. */
  readonly data?: Uint8Array;
  /** Room for the output data; defaults to the input size (+ 256 bytes for growth). */
  readonly dataOutSize?: number;
  /** Program context in (e.g. a `struct __sk_buff` for tc programs). */
  readonly context?: Uint8Array;
  /** Room for the output context; defaults to the input context size. */
  readonly contextOutSize?: number;
  /** Run the program this many times (>= 1); `durationNs` is the average. */
  readonly repeat?: number;
  /** BPF_F_TEST_* flags. */
  readonly flags?: number;
}

export interface TestRunResult {
  readonly returnValue: number;
  /** Average run time in nanoseconds. */
  readonly durationNs: number;
  readonly data: Buffer;
  readonly context?: Buffer;
}

const natives = new WeakMap<Program, Ptr>();

export class Program {
  readonly #fd: number;
  readonly #name: string;
  readonly #type: ProgramType;
  readonly #section: string | undefined;
  readonly #lifetime: Lifetime;
  readonly #ownsFd: boolean;
  readonly #verifierLog: string;

  private constructor(
    fd: number,
    name: string,
    type: ProgramType,
    section: string | undefined,
    lifetime: Lifetime,
    ownsFd: boolean,
    verifierLog: string,
  ) {
    this.#fd = fd;
    this.#name = name;
    this.#type = type;
    this.#section = section;
    this.#lifetime = lifetime;
    this.#ownsFd = ownsFd;
    this.#verifierLog = verifierLog;
  }

  /** @internal A program of a loaded object. */
  static fromObject(
    native: Ptr,
    name: string,
    type: ProgramType,
    section: string,
    lifetime: Lifetime,
    verifierLog: string,
  ): Program {
    const program = new Program(libbpf.bpf_program__fd(native), name, type, section, lifetime, false, verifierLog);
    natives.set(program, native);
    return program;
  }

  static #adopt(fd: number, what: string): Program {
    try {
      const info = readProgramInfo(fd);
      const name = info.name || what;
      return new Program(fd, name, info.type, undefined, new Lifetime(`program ${name}`, fd), true, '');
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Open a program pinned at `path` (PinIncompatibleError if the pin is not a program). */
  static fromPinned(path: string, expectType?: ProgramType): Program {
    const { fd, kind } = openPin(validatePinPath(path), `open pinned program ${path}`);
    if (kind !== 'prog') {
      closeSync(fd);
      throw new PinIncompatibleError(path, `it is a ${kind === 'other' ? 'bpf object' : kind}, not a program`);
    }
    const prog = Program.#adopt(fd, path);
    if (expectType !== undefined && prog.type !== expectType) {
      prog.close();
      throw new PinIncompatibleError(path, `program type ${prog.type}, expected ${expectType}`);
    }
    return prog;
  }

  /** Open a program by its kernel id. */
  static fromId(id: number): Program {
    if (!Number.isInteger(id) || id <= 0) throw new InvalidArgumentError(`program id must be a positive integer, got ${id}`);
    const fd = checkLibbpf('bpf_prog_get_fd_by_id', libbpf.bpf_prog_get_fd_by_id(id), `open program id ${id}`);
    return Program.#adopt(fd, `id ${id}`);
  }

  get name(): string {
    return this.#name;
  }
  get type(): ProgramType {
    return this.#type;
  }
  /** ELF section (e.g. "tc", "sk_lookup"); undefined for programs opened from a pin or id. */
  get sectionName(): string | undefined {
    return this.#section;
  }
  get closed(): boolean {
    return this.#lifetime.closed;
  }

  /** The program's file descriptor (owned by this program or its object; do not close it). */
  get fd(): number {
    this.#lifetime.assertOpen(`program ${this.#name}`);
    return this.#fd;
  }

  /** The verifier's log from loading, when the object was loaded with `logLevel` >= 1; else "". */
  get verifierLog(): string {
    return this.#verifierLog;
  }

  info(): ProgramInfo {
    return readProgramInfo(this.fd);
  }

  /** Run the program once or `repeat` times on the given input (BPF_PROG_TEST_RUN). */
  testRun(options: TestRunOptions = {}): TestRunResult {
    const data = options.data ?? new Uint8Array(0);
    const repeat = options.repeat ?? 1;
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError(`test run ${this.#name}: data must be a Uint8Array`);
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 2 ** 31 - 1) {
      throw new InvalidArgumentError(`test run ${this.#name}: repeat must be an integer >= 1, got ${repeat}`);
    }
    const outSize = options.dataOutSize ?? (data.length > 0 ? data.length + 256 : 0);
    const ctx = options.context;
    const ctxOutSize = options.contextOutSize ?? ctx?.length ?? 0;
    for (const [label, v] of [['dataOutSize', outSize], ['contextOutSize', ctxOutSize]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 1 << 24) {
        throw new InvalidArgumentError(`test run ${this.#name}: ${label} must be an integer 0..16777216, got ${v}`);
      }
    }
    const dataOut = Buffer.alloc(outSize);
    const ctxOut = ctxOutSize > 0 ? Buffer.alloc(ctxOutSize) : null;
    const opts: Record<string, unknown> = {
      sz: ffiStructSize('bpf_test_run_opts'),
      data_in: data.length > 0 ? data : null,
      data_out: outSize > 0 ? dataOut : null,
      data_size_in: data.length,
      data_size_out: outSize,
      ctx_in: ctx && ctx.length > 0 ? ctx : null,
      ctx_out: ctxOut,
      ctx_size_in: ctx?.length ?? 0,
      ctx_size_out: ctxOutSize,
      retval: 0,
      repeat,
      duration: 0,
      flags: options.flags ?? 0,
      cpu: 0,
      batch_size: 0,
    };
    checkLibbpf('bpf_prog_test_run_opts', libbpf.bpf_prog_test_run_opts(this.fd, opts), `test run program ${this.#name}`);
    return {
      returnValue: opts.retval as number,
      durationNs: opts.duration as number,
      data: dataOut.subarray(0, opts.data_size_out as number),
      context: ctxOut ? ctxOut.subarray(0, opts.ctx_size_out as number) : undefined,
    };
  }

  /** Pin the program at `path` on bpffs (EEXIST if something is pinned there). */
  pin(path: string): void {
    pinFd(this.fd, path, `program ${this.#name}`);
  }

  /** Close the fd if this program owns it (programs of an object close with the object). Idempotent. */
  close(): void {
    if (this.#ownsFd) this.#lifetime.end();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Inside core-bpf only (not exported from the package): the libbpf `struct bpf_program *` of a program
 * from a loaded object, or null for programs opened from a pin or id (attach those by fd).
 */
export function nativeProgram(program: Program): Ptr | null {
  void program.fd; // throws ClosedError once the program or its object is closed
  return natives.get(program) ?? null;
}
