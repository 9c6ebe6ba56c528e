/**
 * A plugin that runs in a worker thread of its own (`plugin-worker.ts`), seen from the agent as an
 * ordinary DataplanePlugin whose every call is asynchronous. The plugin's synchronous kernel work
 * then never stalls the agent's sockets, streams and timers, and a lifecycle time-out fires even
 * while a step really blocks; the thread is ended when the plugin closes or fails.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SocketHandleRegistry } from '@bpfsteer/core-bpf';
import type {
  ApplyReport,
  CloseOptions,
  DataplanePlugin,
  DesiredChanges,
  DesiredState,
  Intent,
  KindChanges,
  MetricFamily,
  PluginContext,
  PluginStatus,
} from './contracts.js';
import { IntentRejectedError, PluginThreadError } from './errors.js';
import { providedByKey } from './provision-token.js';
import { diffKind, patchFromChanges, slicePatches } from './intent-patch.js';
import { patchRows } from './intent-rows.js';
import { type VersionedList, versionedListOf } from './versioned-list.js';
import type { FromPluginThread, IntentRows, KindPatch, PluginMethod, PluginThreadData, ResultArray, ThreadError, ToPluginThread } from './plugin-thread-protocol.js';

/**
 * Intents per message when a large desired state crosses to the thread (the loop breathes between).
 * Making the rows of 4,096 router rules and posting them was one 20-30 ms step of the agent's thread
 * (a main-thread profile during a 100,000-rule batch); 1,024 keep each step to a few ms.
 */
const SLICE_INTENTS = 1024;

/**
 * The young generation of a plugin's thread (semi-spaces of 8 MB, as the agent's `bpfsteer` shebang
 * sets for its own thread) instead of letting it grow to 64 MB semi-spaces: a plugin holding 100,000
 * rules keeps ~100 MB less committed, and scavenges copy less at a time (shorter pauses).
 */
const YOUNG_GENERATION_MB = 24;

export interface WorkerPluginOptions {
  readonly id: string;
  /** where the thread imports the plugin's factory from */
  readonly module: string;
  readonly export: string;
  readonly config: unknown;
  readonly context: PluginContext;
  /** how long `close` waits for the plugin before the thread is ended anyway */
  readonly closeMs: number;
  /** the agent's socket-handle registry: its table crosses to the thread ahead of each apply that follows a change of it */
  readonly socketHandles?: SocketHandleRegistry | undefined;
}

/** The worker entry: the built `plugin-worker.js` beside this module, or its source in this package's tests. */
function workerScript(): URL {
  const built = new URL('./plugin-worker.js', import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : new URL('./plugin-worker.ts', import.meta.url);
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function toError(id: string, error: ThreadError): Error {
  if (error.code === 'ERR_INTENT_REJECTED') return new IntentRejectedError(error.message);
  return new PluginThreadError(id, error);
}

/** A call's result whose large arrays arrive in parts (see ResultArray). */
interface Assembly {
  readonly value: unknown;
  readonly arrays: readonly ResultArray[];
  readonly received: unknown[][];
}

/** The result with its arrays in place (the value came through a structured clone: it is ours to change). */
function assembled({ value, arrays, received }: Assembly): unknown {
  let result = value;
  arrays.forEach(({ path }, i) => {
    if (path.length === 0) {
      result = received[i];
      return;
    }
    let parent = result as Record<string, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
    // defined, not assigned: an own property named __proto__ stays a property
    Object.defineProperty(parent, path.at(-1)!, { value: received[i], writable: true, enumerable: true, configurable: true });
  });
  return result;
}

/** Re-logs a JSON line of the thread's logger through `logger` (the plugin's child logger). */
function relog(logger: Logger, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    logger.info(line.trim());
    return;
  }
  const { level, msg, ...fields } = record;
  const log = typeof level === 'string' && level in logger ? (logger as unknown as Record<string, (o: object, m?: string) => void>)[level] : undefined;
  (log ?? logger.info).call(logger, fields, typeof msg === 'string' ? msg : undefined);
}

export class WorkerPlugin implements DataplanePlugin {
  readonly #id: string;
  readonly #worker: Worker;
  readonly #logger: Logger;
  readonly #closeMs: number;
  readonly #ready: Promise<void>;
  /** the thread said it is ready (calls then go without waiting for #ready) */
  #isReady = false;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; assembly?: Assembly }>();
  readonly #listeners = new Map<number, (event: unknown) => void>();
  /** each kind's intent list as the thread holds it (a list changed in place: by its version) */
  readonly #sent = new Map<string, { readonly list: readonly Intent[]; readonly versioned?: VersionedList; readonly version?: number }>();
  /** the lists of the last successful apply (what the agent's `changes` are relative to; the caller's map, never changed after) */
  #applied: DesiredState = new Map<string, readonly Intent[]>();
  #nextId = 1;
  #ended?: Error;
  readonly #handles?: SocketHandleRegistry;
  /** the registry version of the handle table the thread holds */
  #handlesSent = -1;

  constructor(options: WorkerPluginOptions) {
    this.#id = options.id;
    this.#logger = options.context.logger;
    this.#closeMs = options.closeMs;
    const workerData: PluginThreadData = {
      bpfsteerPluginThread: true,
      id: options.id,
      module: options.module,
      export: options.export,
      config: options.config,
      pinRoot: options.context.pinRoot,
      provided: providedByKey(options.context.provided),
      logLevel: this.#logger.level,
      ...(options.socketHandles && { socketHandles: true as const }),
    };
    if (options.socketHandles) this.#handles = options.socketHandles;
    this.#worker = new Worker(workerScript(), {
      workerData,
      name: `bpfsteer plugin ${options.id}`,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      // the plugin owns and closes its fds itself, most of them born in libbpf or libc (map, program,
      // link and socket fds) and closed with fs.closeSync: node's tracking of the fds a thread opened
      // through fs would warn "closed but not opened in unmanaged mode" at each such close
      trackUnmanagedFds: false,
    });
    let ready: () => void;
    let refused: (err: Error) => void;
    this.#ready = new Promise<void>((resolve, reject) => {
      ready = resolve;
      refused = reject;
    });
    this.#ready.catch(() => undefined); // observed by the first call
    this.#worker.on('message', (message: FromPluginThread) => {
      switch (message.t) {
        case 'ready':
          this.#isReady = true;
          ready();
          return;
        case 'fatal':
          this.#end(new PluginThreadError(this.#id, message.error, 'cannot create the plugin in its thread'));
          refused(this.#ended!);
          return;
        case 'result':
          if (message.arrays?.length) return this.#assemble(message.id, { value: message.value, arrays: message.arrays, received: [] });
          this.#settle(message.id, message.value);
          return;
        case 'part':
          this.#part(message.id, message.items);
          return;
        case 'error': {
          const call = this.#pending.get(message.id);
          this.#pending.delete(message.id);
          call?.reject(toError(this.#id, message.error));
          return;
        }
        case 'log':
          relog(this.#logger, message.line);
          return;
        case 'event':
          this.#listeners.get(message.sub)?.(message.event);
          return;
      }
    });
    this.#worker.on('error', (err) => {
      this.#end(new PluginThreadError(this.#id, { name: err.name, message: err.message }, 'its thread failed'));
      refused(this.#ended!);
    });
    this.#worker.on('exit', (code) => {
      this.#end(new PluginThreadError(this.#id, { name: 'Error', message: `exit code ${code}` }, 'its thread ended'));
      refused(this.#ended!);
    });
    options.context.signal.addEventListener('abort', () => this.#post({ t: 'abort', reason: String(options.context.signal.reason) }), {
      once: true,
    });
  }

  #end(err: Error): void {
    if (this.#ended) return;
    this.#ended = err;
    for (const call of this.#pending.values()) call.reject(err);
    this.#pending.clear();
  }

  #settle(id: number, value: unknown): void {
    const call = this.#pending.get(id);
    this.#pending.delete(id);
    call?.resolve(value);
  }

  /** A result whose large arrays follow in parts: each asked for once the loop has turned (I/O and timers run between). */
  #assemble(id: number, assembly: Assembly): void {
    const call = this.#pending.get(id);
    if (!call) return;
    call.assembly = assembly;
    void nextTurn().then(() => this.#post({ t: 'more', id }));
  }

  #part(id: number, items: readonly unknown[]): void {
    const assembly = this.#pending.get(id)?.assembly;
    if (!assembly) return;
    const { arrays, received } = assembly;
    // a part never spans two arrays: it starts the next one when the last is complete
    if (received.length === 0 || received.at(-1)!.length === arrays[received.length - 1]!.length) received.push([]);
    const i = received.length - 1;
    const into = received[i]!;
    for (const item of items) into.push(item);
    const done = i === arrays.length - 1 && into.length === arrays[i]!.length;
    if (done) this.#settle(id, assembled(assembly));
    else void nextTurn().then(() => this.#post({ t: 'more', id }));
  }

  #post(message: ToPluginThread): void {
    if (!this.#ended) this.#worker.postMessage(message);
  }

  /** Calls `method` in the thread; an apply's call carries the last slice of its desired state (`state`). */
  #call(method: PluginMethod, args: readonly unknown[] = [], state?: Pick<ToPluginThread & { t: 'call' }, 'patches' | 'handles'>): Promise<unknown> {
    if (!this.#isReady) return this.#ready.then(() => this.#call(method, args, state));
    if (this.#ended) return Promise.reject(this.#ended);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#post({ t: 'call', id, method, args, ...state });
    });
  }

  async open(): Promise<void> {
    await this.#call('open');
  }
  async load(): Promise<void> {
    await this.#call('load');
  }
  async seed(): Promise<void> {
    await this.#call('seed');
  }
  async attach(): Promise<void> {
    await this.#call('attach');
  }

  /**
   * Sends the changed positions of each kind (in bounded slices), then asks the thread to apply.
   * The agent's `changes` give them when the thread holds the lists they are relative to (those
   * of the last successful apply); else the lists are compared.
   */
  async apply(desired: DesiredState, changes?: DesiredChanges): Promise<ApplyReport> {
    // the patches are built in the caller's turn: lists changed in place are read as they are now
    const patches: KindPatch[] = [];
    for (const [kind, list] of desired) {
      const patch = this.#patchOf(kind, list, changes?.get(kind));
      if (patch) patches.push(patch);
    }
    if (!this.#isReady) await this.#ready;
    // all slices but the last go ahead (the loop breathes between them); the last goes with the call
    const slices = slicePatches(patches, SLICE_INTENTS);
    for (let i = 0; i < slices.length - 1; i++) {
      if (i > 0) await nextTurn();
      this.#post({ t: 'patch', patches: slices[i]!.map(patchRows) });
    }
    if (slices.length > 1) await nextTurn();
    const last: readonly KindPatch<IntentRows>[] | undefined = slices.at(-1)?.map(patchRows);
    const handles = this.#handles;
    let table: ReadonlyMap<string, number> | undefined;
    if (handles && handles.version !== this.#handlesSent) {
      this.#handlesSent = handles.version;
      table = handles.table();
    }
    const report = (await this.#call('apply', changes ? [changes] : [], { ...(last && { patches: last }), ...(table && { handles: table }) })) as ApplyReport;
    this.#applied = desired;
    return report;
  }

  /** What the thread needs to hold `list` as `kind` (undefined: it holds it already); notes it as sent. */
  #patchOf(kind: string, list: readonly Intent[], known: KindChanges | undefined): KindPatch | undefined {
    const held = this.#sent.get(kind);
    const versioned = versionedListOf(list);
    this.#sent.set(kind, versioned ? { list, versioned, version: versioned.version } : { list });
    if (versioned) {
      const since = held?.versioned === versioned ? versioned.changedSince(held.version!) : undefined;
      // a list changed in place is copied when it is sent whole (it may change before the last slice goes)
      const patch = since ? patchFromChanges(kind, list, since) : { kind, all: list };
      return patch && 'all' in patch ? { kind, all: list.slice() } : patch;
    }
    if (held?.versioned) return { kind, all: list };
    const heldList = held?.list ?? [];
    return known !== undefined && this.#applied.get(kind) === heldList && heldList.length === known.before
      ? patchFromChanges(kind, list, known)
      : diffKind(kind, heldList, list);
  }

  status(): Promise<PluginStatus> {
    return this.#call('status') as Promise<PluginStatus>;
  }

  /** The plugin's metric families (none when its implementation offers none). */
  metrics(): Promise<readonly MetricFamily[]> {
    return this.#call('metrics') as Promise<readonly MetricFamily[]>;
  }

  describe(kind: string): Promise<unknown> {
    return this.#call('describe', [kind]);
  }

  watch(topic: string, listener: (event: unknown) => void): () => void {
    const sub = this.#nextId++;
    this.#listeners.set(sub, listener);
    // posted in call order: a watch made before an apply sees that apply's events
    if (this.#isReady) this.#post({ t: 'watch', sub, topic });
    else {
      void this.#ready.then(
        () => this.#post({ t: 'watch', sub, topic }),
        () => undefined,
      );
    }
    return () => {
      if (this.#listeners.delete(sub)) this.#post({ t: 'unwatch', sub });
    };
  }

  /** Closes the plugin in its thread (waiting at most closeMs), then ends the thread. */
  async close(options: CloseOptions): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#call('close', [options]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`close did not finish in ${this.#closeMs} ms; ending its thread`)), this.#closeMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.#listeners.clear();
      await this.#worker.terminate();
    }
  }
}
