/**
 * A BPF ELF object through its libbpf lifecycle: open (parse, inspect) -> load (configure maps,
 * programs and constants, create maps, verify programs) -> use maps and programs -> close.
 * Attach programs only after their maps are filled (see the link modules).
 */
import { closeSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { removeEmptyPinDir } from './pin-dir.js';
import { missingVerifierPrivilege } from './capabilities.js';
import { basename, dirname } from 'node:path';
import { Btf } from './btf/btf.js';
import { BpfMap } from './bpf-map.js';
import {
  BpfError,
  ERRNO,
  InvalidArgumentError,
  NotFoundError,
  PinIncompatibleError,
  SyscallError,
  VerifierError,
  errnoName,
} from './errors.js';
import { koffi, lastErrno, type Ptr } from './ffi/lib.js';
import { libbpf } from './ffi/libbpf-api.js';
import { ffiStructSize } from './ffi/ffi-structs.js';
import { startLibbpfCapture } from './ffi/libbpf-log.js';
import { Lifetime } from './lifetime.js';
import { mapDifferences } from './map-compat.js';
import { type MapType, mapTypeName } from './map-type.js';
import { type ConstantValue, writeConstant } from './object-constants.js';
import { readMapInfo } from './object-info.js';
import { assertPinPath, openPin, pinExists, removePin } from './pin-path.js';
import { Program } from './program.js';
import { type ProgramType, programTypeName } from './program-type.js';
import { failedProgramFromLines, logText, summarizeLibbpfLines } from './verifier-log.js';

export interface OpenOptions {
  /** Object name override (defaults to the file name without .o). */
  readonly name?: string;
  /** Directory on bpffs for maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)`. */
  readonly pinRoot?: string;
}

export interface MapLoadOptions {
  readonly maxEntries?: number;
  /** Reuse the map pinned here if compatible, else create it and pin it here. */
  readonly pinPath?: string;
  /** What to do when the pinned map differs from this object's definition (default "fail"). */
  readonly ifPinIncompatible?: 'fail' | 'replace';
  /** Set false to not create the map (its programs must not be loaded either). */
  readonly create?: boolean;
}

export interface ProgramLoadOptions {
  /** Set false to skip loading the program. */
  readonly autoload?: boolean;
}

export interface LoadOptions {
  readonly maps?: Readonly<Record<string, MapLoadOptions>>;
  readonly programs?: Readonly<Record<string, ProgramLoadOptions>>;
  /** Values for `const volatile` globals (.rodata), by variable name. */
  readonly constants?: Readonly<Record<string, ConstantValue>>;
  /**
   * Verifier log level: 0 (default) keeps a log only when a program is rejected; 1 and 2 keep the
   * log of every program (`Program.verifierLog`), 2 with every instruction's state.
   */
  readonly logLevel?: 0 | 1 | 2;
  /** Bytes of log kept per program (default 1 MiB, 128..1 GiB); a longer log keeps its end. */
  readonly logSize?: number;
}

export interface ProgramSpec {
  readonly name: string;
  readonly sectionName: string;
  readonly type: ProgramType;
  readonly autoload: boolean;
}

export interface MapSpec {
  readonly name: string;
  readonly type: MapType;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** Where the map will be pinned / reused from, if anywhere. */
  readonly pinPath?: string;
  /** libbpf's own maps for global data (.rodata, .data, .bss, .kconfig). */
  readonly internal: boolean;
}

export type ObjectState = 'opened' | 'loaded' | 'closed';

const DEFAULT_LOG_SIZE = 1 << 20;

export class BpfObject {
  #ptr: Ptr | null;
  #state: ObjectState = 'opened';
  readonly #lifetime: Lifetime;
  readonly #path: string;
  readonly #programPtrs = new Map<string, Ptr>();
  readonly #mapPtrs = new Map<string, Ptr>();
  readonly #programs = new Map<string, Program>();
  readonly #maps = new Map<string, BpfMap>();
  /** the ELF bytes of an object opened from memory: libbpf reads them in place until close */
  #bytes: Buffer | undefined;
  /** map pins this object's load created (not reused), and the pin directories it created */
  #newPins: string[] = [];
  #newPinDirs: string[] = [];

  private constructor(ptr: Ptr, path: string) {
    this.#ptr = ptr;
    this.#path = path;
    this.#lifetime = new Lifetime(`object ${basename(path)}`);
    for (let p = libbpf.bpf_object__next_program(ptr, null); p; p = libbpf.bpf_object__next_program(ptr, p)) {
      this.#programPtrs.set(libbpf.bpf_program__name(p), p);
    }
    for (let m = libbpf.bpf_object__next_map(ptr, null); m; m = libbpf.bpf_object__next_map(ptr, m)) {
      this.#mapPtrs.set(libbpf.bpf_map__name(m), m);
    }
  }

  /**
   * Parse an ELF object, from a file path or from its bytes (e.g. embedded in a bundle); nothing is
   * created in the kernel until `load`. Bytes are copied and kept until `close()`, as libbpf reads
   * them in place.
   */
  static open(source: string | Uint8Array, options: OpenOptions = {}): BpfObject {
    const fromBytes = source instanceof Uint8Array;
    if (fromBytes) {
      if (source.length === 0) throw new InvalidArgumentError('open object: bytes must not be empty');
    } else {
      if (typeof source !== 'string' || source === '') {
        throw new InvalidArgumentError('open object: expected a file path or the object\'s bytes (Uint8Array)');
      }
      if (!existsSync(source) || !statSync(source).isFile()) throw new NotFoundError(`object file ${source}`);
    }
    if (options.pinRoot !== undefined) assertPinPath(options.pinRoot, 'pin root');
    if (options.name !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(options.name)) {
      throw new InvalidArgumentError(`open object: name "${options.name}" must be 1..64 characters of [A-Za-z0-9_.-]`);
    }
    const opts = {
      sz: ffiStructSize('bpf_object_open_opts'),
      object_name: options.name ?? null,
      relaxed_maps: false,
      pin_root_path: options.pinRoot ?? null,
      _stub_attach_prog_fd: 0,
      kconfig: null,
      btf_custom_path: null,
      kernel_log_buf: null,
      kernel_log_size: 0,
      kernel_log_level: 0,
    };
    const bytes = fromBytes ? Buffer.from(source) : undefined;
    const label = fromBytes ? `${options.name ?? 'object'} (${source.length} bytes in memory)` : source;
    const call = fromBytes ? 'bpf_object__open_mem' : 'bpf_object__open_file';
    const stop = startLibbpfCapture();
    const ptr = bytes ? libbpf.bpf_object__open_mem(bytes, bytes.length, opts) : libbpf.bpf_object__open_file(source as string, opts);
    const errno = lastErrno();
    const lines = stop();
    if (!ptr) throw new SyscallError(call, errno || ERRNO.EINVAL, `open object ${label}`, summarizeLibbpfLines(lines));
    const obj = new BpfObject(ptr, label);
    obj.#bytes = bytes;
    return obj;
  }

  get path(): string {
    return this.#path;
  }
  get name(): string {
    return libbpf.bpf_object__name(this.#handle());
  }
  get state(): ObjectState {
    return this.#state;
  }

  #handle(): Ptr {
    this.#lifetime.assertOpen();
    return this.#ptr as Ptr;
  }

  /** The programs in the object (before or after load). */
  programSpecs(): ProgramSpec[] {
    this.#handle();
    return [...this.#programPtrs].map(([name, p]) => ({
      name,
      sectionName: libbpf.bpf_program__section_name(p),
      type: programTypeName(libbpf.bpf_program__type(p)),
      autoload: libbpf.bpf_program__autoload(p),
    }));
  }

  /** The maps in the object (before or after load). */
  mapSpecs(): MapSpec[] {
    this.#handle();
    return [...this.#mapPtrs].map(([name, m]) => {
      const pinPath = libbpf.bpf_map__pin_path(m) ?? undefined;
      return {
        name,
        type: mapTypeName(libbpf.bpf_map__type(m)),
        keySize: libbpf.bpf_map__key_size(m),
        valueSize: libbpf.bpf_map__value_size(m),
        maxEntries: libbpf.bpf_map__max_entries(m),
        flags: libbpf.bpf_map__map_flags(m),
        ...(pinPath ? { pinPath } : {}),
        internal: libbpf.bpf_map__is_internal(m),
      };
    });
  }

  /** @internal The object's BTF (valid while the object is open), or undefined without BTF. */
  btf(): Btf | undefined {
    const ptr = libbpf.bpf_object__btf(this.#handle());
    return ptr ? Btf.borrow(ptr, `btf of ${basename(this.#path)}`) : undefined;
  }

  /** @internal libbpf's BTF type ids of a map's key and value (0 when unknown). */
  mapBtfTypeIds(name: string): { key: number; value: number } {
    const m = this.#mapPtr(name);
    return { key: libbpf.bpf_map__btf_key_type_id(m), value: libbpf.bpf_map__btf_value_type_id(m) };
  }

  #mapPtr(name: string): Ptr {
    this.#handle();
    const m = this.#mapPtrs.get(name);
    if (!m) throw new NotFoundError(`map ${name} in ${basename(this.#path)} (maps: ${[...this.#mapPtrs.keys()].join(', ') || 'none'})`);
    return m;
  }

  /**
   * Create the maps and load the programs. Every option is checked before anything changes; a failed
   * load closes the object (libbpf cannot retry) and throws VerifierError, PinIncompatibleError or
   * SyscallError with libbpf's explanation.
   */
  load(options: LoadOptions = {}): void {
    const obj = this.#handle();
    if (this.#state !== 'opened') throw new InvalidArgumentError(`load ${basename(this.#path)}: already loaded`);
    const logLevel = options.logLevel ?? 0;
    const logSize = options.logSize ?? DEFAULT_LOG_SIZE;
    if (![0, 1, 2].includes(logLevel)) throw new InvalidArgumentError(`load: logLevel must be 0, 1 or 2, got ${logLevel}`);
    if (!Number.isInteger(logSize) || logSize < 128 || logSize > 1 << 30) {
      throw new InvalidArgumentError(`load: logSize must be an integer 128..${1 << 30}, got ${logSize}`);
    }
    const plan = this.#planConfiguration(options);
    // configure first (e.g. maxEntries), so pinned maps are compared with what will really be created
    for (const apply of plan.apply) apply();
    this.#checkPins(plan.pins);
    const createdDirs: string[] = [];
    const pinsToCreate: string[] = [];
    for (const [name, { path }] of plan.pins) {
      if (!libbpf.bpf_map__autocreate(this.#mapPtrs.get(name) as Ptr)) continue;
      // libbpf creates one missing directory level only
      createdDirs.push(...makePinDirs(dirname(path)));
      if (!pinExists(path)) pinsToCreate.push(path);
    }

    const logs = new Map<string, Buffer>();
    for (const [name, p] of this.#programPtrs) {
      if (!libbpf.bpf_program__autoload(p)) continue;
      const buf = Buffer.alloc(logSize);
      logs.set(name, buf);
      libbpf.bpf_program__set_log_buf(p, buf, logSize);
      libbpf.bpf_program__set_log_level(p, logLevel);
    }

    const stop = startLibbpfCapture();
    const err = libbpf.bpf_object__load(obj);
    const lines = stop();
    if (err < 0) {
      const error = this.#loadError(err, lines, logs);
      this.close();
      // a failed load leaves none of the (empty) pin directories it created behind
      for (const dir of createdDirs.reverse()) removeEmptyPinDir(dir);
      throw error;
    }
    this.#state = 'loaded';
    this.#newPins = pinsToCreate.filter((path) => pinExists(path));
    this.#newPinDirs = createdDirs;
    for (const [name, p] of this.#programPtrs) {
      if (libbpf.bpf_program__fd(p) < 0) continue;
      const type = programTypeName(libbpf.bpf_program__type(p));
      const log = logLevel > 0 && logs.has(name) ? logText(logs.get(name) as Buffer) : '';
      this.#programs.set(name, Program.fromObject(p, name, type, libbpf.bpf_program__section_name(p), this.#lifetime, log));
    }
    for (const [name, m] of this.#mapPtrs) {
      const fd = libbpf.bpf_map__fd(m);
      if (fd >= 0) this.#maps.set(name, BpfMap.fromObject(fd, name, this.#lifetime));
    }
  }

  #planConfiguration(options: LoadOptions): { apply: Array<() => void>; pins: Map<string, { path: string; replace: boolean }> } {
    const apply: Array<() => void> = [];
    const pins = new Map<string, { path: string; replace: boolean }>();
    const file = basename(this.#path);
    for (const [name, m] of this.#mapPtrs) {
      const pinned = libbpf.bpf_map__pin_path(m);
      if (pinned) pins.set(name, { path: pinned, replace: false });
    }
    for (const [name, o] of Object.entries(options.maps ?? {})) {
      const m = this.#mapPtr(name);
      const known = new Set(['maxEntries', 'pinPath', 'ifPinIncompatible', 'create']);
      for (const k of Object.keys(o)) {
        if (!known.has(k)) throw new InvalidArgumentError(`load ${file}: maps.${name}.${k} is unknown; accepted are ${[...known].join(', ')}`);
      }
      if (o.maxEntries !== undefined) {
        if (!Number.isInteger(o.maxEntries) || o.maxEntries < 1 || o.maxEntries > 0xffffffff) {
          throw new InvalidArgumentError(`load ${file}: maps.${name}.maxEntries must be an integer 1..4294967295, got ${o.maxEntries}`);
        }
        const n = o.maxEntries;
        apply.push(() => this.#check(libbpf.bpf_map__set_max_entries(m, n), 'bpf_map__set_max_entries', `map ${name}`));
      }
      if (o.ifPinIncompatible !== undefined && !['fail', 'replace'].includes(o.ifPinIncompatible)) {
        throw new InvalidArgumentError(`load ${file}: maps.${name}.ifPinIncompatible must be "fail" or "replace"`);
      }
      if (o.pinPath !== undefined) {
        assertPinPath(o.pinPath, `maps.${name}.pinPath`);
        const path = o.pinPath;
        apply.push(() => this.#check(libbpf.bpf_map__set_pin_path(m, path), 'bpf_map__set_pin_path', `map ${name}`));
        pins.set(name, { path, replace: o.ifPinIncompatible === 'replace' });
      } else if (o.ifPinIncompatible !== undefined) {
        const existing = pins.get(name);
        if (!existing) throw new InvalidArgumentError(`load ${file}: maps.${name}.ifPinIncompatible needs a pinPath (or LIBBPF_PIN_BY_NAME and pinRoot)`);
        existing.replace = o.ifPinIncompatible === 'replace';
      }
      if (o.create !== undefined) {
        if (typeof o.create !== 'boolean') throw new InvalidArgumentError(`load ${file}: maps.${name}.create must be a boolean`);
        const on = o.create;
        apply.push(() => this.#check(libbpf.bpf_map__set_autocreate(m, on), 'bpf_map__set_autocreate', `map ${name}`));
      }
    }
    for (const [name, o] of Object.entries(options.programs ?? {})) {
      const p = this.#programPtrs.get(name);
      if (!p) throw new NotFoundError(`program ${name} in ${file} (programs: ${[...this.#programPtrs.keys()].join(', ') || 'none'})`);
      if (o.autoload !== undefined) {
        if (typeof o.autoload !== 'boolean') throw new InvalidArgumentError(`load ${file}: programs.${name}.autoload must be a boolean`);
        const on = o.autoload;
        apply.push(() => this.#check(libbpf.bpf_program__set_autoload(p, on), 'bpf_program__set_autoload', `program ${name}`));
      }
    }
    const constants = Object.entries(options.constants ?? {});
    if (constants.length > 0) apply.push(...this.#planConstants(constants));
    return { apply, pins };
  }

  #planConstants(constants: Array<[string, ConstantValue]>): Array<() => void> {
    const file = basename(this.#path);
    const rodata = [...this.#mapPtrs].find(([n, m]) => libbpf.bpf_map__is_internal(m) && n.endsWith('.rodata'));
    const btf = this.btf();
    if (!rodata || !btf) throw new InvalidArgumentError(`load ${file}: the object has no .rodata constants to set`);
    const vars = new Map(btf.sectionVariables('.rodata').map((v) => [v.name, v]));
    const size = new BigUint64Array(1);
    const ptr = libbpf.bpf_map__initial_value(rodata[1], size);
    if (!ptr) throw new InvalidArgumentError(`load ${file}: the .rodata section has no initial value`);
    const staged = Buffer.from(koffi.view(ptr, Number(size[0]))); // validate everything on a copy first
    for (const [name, value] of constants) {
      const variable = vars.get(name);
      if (!variable) {
        throw new InvalidArgumentError(`load ${file}: constant ${name} is not a .rodata variable (variables: ${[...vars.keys()].join(', ') || 'none'})`);
      }
      writeConstant(variable, value, staged);
    }
    return [() => new Uint8Array(koffi.view(ptr, staged.length)).set(staged)];
  }

  #check(err: number, call: string, what: string): void {
    if (err < 0) throw new SyscallError(call, err, `configure ${what} of ${basename(this.#path)}`);
  }

  /** Refuse (or replace) pinned maps that differ from this object's definitions, before libbpf sees them. */
  #checkPins(pins: Map<string, { path: string; replace: boolean }>): void {
    for (const [name, { path, replace }] of pins) {
      if (!pinExists(path)) continue;
      const m = this.#mapPtrs.get(name) as Ptr;
      const { fd, kind } = openPin(path, `check pinned map ${path}`);
      let problem: string | undefined;
      try {
        if (kind !== 'map') problem = 'it is not a map';
        else {
          const diff = mapDifferences(readMapInfo(fd), {
            type: mapTypeName(libbpf.bpf_map__type(m)),
            keySize: libbpf.bpf_map__key_size(m),
            valueSize: libbpf.bpf_map__value_size(m),
            maxEntries: libbpf.bpf_map__max_entries(m),
            flags: libbpf.bpf_map__map_flags(m),
          });
          if (diff.length > 0) problem = diff.join('; ');
        }
      } finally {
        closeSync(fd);
      }
      if (!problem) continue;
      if (!replace) throw new PinIncompatibleError(path, `map ${name}: ${problem}`);
      removePin(path);
    }
  }

  #loadError(err: number, lines: string[], logs: Map<string, Buffer>): BpfError {
    const file = basename(this.#path);
    const named = failedProgramFromLines(lines);
    const failed = named ?? [...logs].find(([, buf]) => buf[0] !== 0)?.[0];
    const log = failed && logs.has(failed) ? logText(logs.get(failed) as Buffer) : '';
    if (errnoName(err) === 'EAGAIN') {
      // the verifier stops with EAGAIN when a signal is pending; libbpf tried again, and each try was
      // interrupted too: not a rejection of the program
      const what = failed ? `load ${file}: program ${failed}` : `load ${file}`;
      return new SyscallError(
        'bpf_object__load',
        err,
        `${what}: the verifier was interrupted by signals on every attempt (not a rejection; a CPU profiler's timer signals, e.g. node --cpu-prof, do this)`,
        summarizeLibbpfLines(lines),
      );
    }
    if (failed && log.trim() !== '') {
      const errno = errnoName(err);
      // EACCES is the verifier's "not allowed to you" (EINVAL its "invalid for anyone")
      const privilege = errno === 'EACCES' ? missingVerifierPrivilege() : undefined;
      return new VerifierError(failed, errno === 'ENOSPC' ? `${log}\n(log truncated: raise logSize)` : log, errno, privilege);
    }
    const context = failed ? `load ${file}: program ${failed}` : `load ${file}`;
    return new SyscallError('bpf_object__load', err, context, summarizeLibbpfLines(lines));
  }

  /** A loaded program by name. */
  program(name: string): Program {
    return this.#loaded(this.#programs, name, 'program', this.#programPtrs);
  }

  /** A created map by name (internal maps are named like "<object>.rodata"). */
  map(name: string): BpfMap {
    return this.#loaded(this.#maps, name, 'map', this.#mapPtrs);
  }

  /** Every loaded program. */
  programs(): Program[] {
    this.#handle();
    return [...this.#programs.values()];
  }

  /** Every created map. */
  maps(): BpfMap[] {
    this.#handle();
    return [...this.#maps.values()];
  }

  #loaded<T>(table: Map<string, T>, name: string, kind: string, all: Map<string, Ptr>): T {
    this.#handle();
    const file = basename(this.#path);
    if (this.#state !== 'loaded') throw new InvalidArgumentError(`${kind} ${name} of ${file}: the object is not loaded yet (call load())`);
    const found = table.get(name);
    if (found) return found;
    if (all.has(name)) {
      throw new InvalidArgumentError(`${kind} ${name} of ${file} was not ${kind === 'map' ? 'created (create: false)' : 'loaded (autoload: false)'}`);
    }
    throw new NotFoundError(`${kind} ${name} in ${file} (${kind}s: ${[...all.keys()].join(', ') || 'none'})`);
  }

  /** The map pins this object's load created; the ones it reused (pinned by an earlier run) are not listed. */
  get newPins(): readonly string[] {
    return [...this.#newPins];
  }

  /**
   * Undo the pinning of a start that failed: removes the map pins this object's load created (an
   * incompatible pin it replaced counts as created), keeps the ones it reused from an earlier run,
   * then removes the pin directories the load created once they are empty. Allowed after close()
   * (the maps then go away with their last reference). Idempotent.
   */
  removeNewPins(): void {
    for (const path of this.#newPins) removePin(path, { missingOk: true });
    this.#newPins = [];
    for (const dir of [...this.#newPinDirs].reverse()) removeEmptyPinDir(dir);
    this.#newPinDirs = [];
  }

  /** Destroy the object: unpinned maps and programs go away once nothing else holds them. Idempotent. */
  close(): void {
    if (this.#lifetime.closed) return;
    this.#lifetime.end();
    this.#state = 'closed';
    const ptr = this.#ptr;
    this.#ptr = null;
    if (ptr) libbpf.bpf_object__close(ptr);
    this.#bytes = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Creates `dir` and its missing parents; returns the directories it created, outermost first. */
function makePinDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
  if (missing.length > 0) mkdirSync(dir, { recursive: true });
  return missing;
}
