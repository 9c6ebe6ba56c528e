/**
 * The entry of a plugin's worker thread: imports the plugin's factory, creates the plugin and runs
 * the calls the agent sends (`ToPluginThread`), so the plugin's synchronous kernel work (FFI map
 * writes, adoption, dumps) never blocks the agent's event loop. It keeps the plugin's desired state
 * as the agent last sent it and receives only the changed positions of each kind's list, which it
 * changes in place: the plugin gets the same array for a kind from one apply to the next, and an
 * unchanged intent stays the very same object (plugins recognise unchanged intents by identity and
 * read what changed from `changes`).
 *
 * Self-contained on purpose (only type imports from this package): it runs as it is from the
 * built package and, in this package's tests, from its TypeScript source.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { CloseOptions, DataplanePlugin, DesiredChanges, DesiredState, Intent, PluginImplementation } from './contracts.js';
import type { FromPluginThread, IntentRows, KindPatch, PluginThreadData, ResultArray, RowShape, ThreadError, ToPluginThread } from './plugin-thread-protocol.js';

/**
 * Most elements of a result's array per message: one message is deserialised in one step on the
 * agent's thread (2,048 of tc-tproxy's rule views: ~5-10 ms).
 */
export const RESULT_PART_ITEMS = 2048;
/** How deep into a result's plain objects large arrays are looked for. */
const RESULT_SPLIT_DEPTH = 4;

/** How long the thread must be idle after large work before it returns its garbage (ms). */
export const TRIM_IDLE_MS = 2000;
/** What counts as large work: intents received plus result elements sent since the last trim. */
export const TRIM_MIN_ITEMS = 4096;
/** Busier than this share of the idle wait (event-loop utilisation): not idle, wait again. */
export const TRIM_MAX_UTILIZATION = 0.05;

/** V8's `gc` (exposed by node's --expose-gc) with the options of a memory-reducing full collection. */
export type ExposedGc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * Gives the memory of a large apply or listing back to the system once the thread is idle. V8
 * keeps such garbage, and the pages it pooled, resident until its memory reducer runs, which on
 * Node 24 is in practice its 100 s watchdog: a tc-tproxy thread at 100,000 rules held ~300 MiB
 * resident for ~150 MiB of live objects. A memory-reducing full collection (flavor last-resort)
 * returns it at once; it stops only this thread (0.1-0.8 s measured), idle by then, never the
 * agent's event loop. It needs `gc`, which node exposes with --expose-gc (the agent's bin runs so);
 * without it nothing is done. Idle means no call and an event loop that was hardly busy during
 * the wait: a plugin's own background work after a call (tc-tproxy reads its maps back after a
 * restart) postpones the collection as a call would.
 */
export class IdleTrim {
  #gc: ExposedGc | undefined;
  readonly #idleMs: number;
  readonly #minItems: number;
  readonly #onTrim: (ms: number, rssBefore: number) => void;
  readonly #onError: (err: unknown) => void;
  readonly #utilization: (since: EventLoopUtilization | undefined) => { now: EventLoopUtilization; utilization: number };
  #since: EventLoopUtilization | undefined;
  #items = 0;
  #running = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    options: {
      gc?: ExposedGc | undefined;
      idleMs?: number;
      minItems?: number;
      onTrim?: (ms: number, rssBefore: number) => void;
      onError?: (err: unknown) => void;
      /** the event loop's utilisation since `since` (default: performance.eventLoopUtilization) */
      utilization?: (since: EventLoopUtilization | undefined) => { now: EventLoopUtilization; utilization: number };
    } = {},
  ) {
    this.#gc = options.gc;
    this.#idleMs = options.idleMs ?? TRIM_IDLE_MS;
    this.#minItems = options.minItems ?? TRIM_MIN_ITEMS;
    this.#onTrim = options.onTrim ?? (() => undefined);
    this.#onError = options.onError ?? (() => undefined);
    this.#utilization =
      options.utilization ??
      ((since) => {
        const now = performance.eventLoopUtilization();
        return { now, utilization: since === undefined ? 0 : performance.eventLoopUtilization(now, since).utilization };
      });
  }

  /** Work begins: no collection while it runs. */
  begin(): void {
    this.#running++;
    this.#cancel();
  }

  /** Work that handled `items` ended; once nothing runs, the idle wait starts again. */
  end(items = 0): void {
    this.#running = Math.max(0, this.#running - 1);
    this.#items += items;
    if (this.#gc === undefined || this.#running > 0 || this.#items < this.#minItems) return;
    this.#arm();
  }

  #arm(): void {
    this.#cancel();
    this.#since = this.#utilization(undefined).now;
    this.#timer = setTimeout(() => this.#trim(), this.#idleMs);
    this.#timer.unref();
  }

  /** Counts items handled outside a call (patches sent ahead of it). */
  count(items: number): void {
    this.#items += items;
  }

  stop(): void {
    this.#cancel();
  }

  #cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #trim(): void {
    this.#timer = undefined;
    if (this.#utilization(this.#since).utilization > TRIM_MAX_UTILIZATION) return this.#arm(); // busy meanwhile: not idle yet
    this.#items = 0;
    const rssBefore = process.memoryUsage.rss();
    const t0 = performance.now();
    try {
      this.#gc!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    } catch (err) {
      // a node whose gc refuses these options: no trims, and the thread goes on
      this.#gc = undefined;
      this.#onError(err);
      return;
    }
    this.#onTrim(performance.now() - t0, rssBefore);
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * Takes the arrays of more than `max` elements out of a result: the result itself when it is one,
 * else those under its plain objects' properties (not inside arrays). Returns the result with an
 * empty array in their place (objects on their way are copied; `value` is not changed) and the
 * arrays taken out, in the order the agent receives their elements.
 */
export function splitLargeArrays(value: unknown, max: number = RESULT_PART_ITEMS): { value: unknown; arrays: { path: string[]; items: readonly unknown[] }[] } {
  const arrays: { path: string[]; items: readonly unknown[] }[] = [];
  const walk = (v: unknown, path: string[]): unknown => {
    if (Array.isArray(v)) {
      if (v.length <= max) return v;
      arrays.push({ path, items: v });
      return [];
    }
    if (path.length >= RESULT_SPLIT_DEPTH || !isPlainObject(v)) return v;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(v)) {
      const inner = walk(v[key], [...path, key]);
      if (inner !== v[key]) (copy ??= { ...v })[key] = inner;
    }
    return copy ?? v;
  };
  return { value: walk(value, []), arrays };
}

/** The parts of the arrays taken out of a result, in order: at most `max` elements each, never two arrays in one. */
function resultParts(arrays: readonly { items: readonly unknown[] }[], max: number): (() => readonly unknown[])[] {
  return arrays.flatMap(({ items }) => Array.from({ length: Math.ceil(items.length / max) }, (_, n) => () => items.slice(n * max, (n + 1) * max)));
}

/**
 * Applies one kind's patch to its current list: in place (the plugin gets the same array, changed
 * where `changes` says, so a change costs what it changes, not the length of the list), or a new
 * array when the whole list is sent.
 */
export function applyKindPatch(current: readonly Intent[] | undefined, patch: KindPatch): readonly Intent[] {
  if ('all' in patch) {
    if (!patch.append || !current) return patch.all;
    // extended in place, as positions are changed in place: copied at each part, a list of 100,000
    // sent in parts of 1,024 was ~5 million element copies (0.2 s of the thread's apply)
    const list = current as Intent[];
    for (let i = 0; i < patch.all.length; i++) list.push(patch.all[i]!);
    return list;
  }
  const list = (current ?? []) as Intent[];
  const { at, intents } = patch;
  for (let i = 0; i < at.length; i++) list[at[i]!] = intents[i]!;
  if (list.length !== patch.length) list.length = patch.length;
  return list;
}

/** Distinct strings a field may have before it is no longer interned (when fewer than half its values repeat). */
const INTERN_DISTINCT = 64;

/**
 * The strings seen in one field of a shape, to hand out one string object per value: a message
 * carries each occurrence of a string apart (structured clone does not share equal strings), and
 * a plugin keeps its intents, so a field whose values repeat (kind, protocol, action, "any"
 * sources) held one copy per intent: ~10 MiB in tc-tproxy's thread at 100,000 rules. A field of
 * mostly distinct values (destinations) stops being looked up.
 */
export interface FieldStrings {
  readonly seen: Map<string, string>;
  count: number;
}

export function interned(fields: (FieldStrings | null | undefined)[], j: number, s: string): string {
  let field = fields[j];
  if (field === null) return s;
  if (field === undefined) fields[j] = field = { seen: new Map(), count: 0 };
  field.count++;
  const known = field.seen.get(s);
  if (known !== undefined) return known;
  if (field.seen.size >= INTERN_DISTINCT && field.seen.size * 2 > field.count) {
    fields[j] = null; // mostly distinct values: not worth a lookup each
    return s;
  }
  field.seen.set(s, s);
  return s;
}

/** The intents of `rows` (see IntentRows), as new plain objects; equal strings of a field are one string. */
export function intentsOfRows({ shapes, values }: IntentRows): Intent[] {
  const intents: Intent[] = [];
  const strings = new Map<RowShape, (FieldStrings | null | undefined)[]>();
  let i = 0;
  const build = (shape: RowShape): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    let fields = strings.get(shape);
    if (fields === undefined) strings.set(shape, (fields = []));
    for (let j = 0; j < shape.length; j++) {
      const name = shape[j]!;
      let key: string;
      let value: unknown;
      if (typeof name === 'string') {
        key = name;
        value = values[i++];
        if (typeof value === 'string') value = interned(fields, j, value);
      } else {
        key = name[0];
        value = build(name[1]);
      }
      // defined, not assigned: an own property named __proto__ stays a property (as a clone keeps it)
      if (key === '__proto__') Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
      else o[key] = value;
    }
    return o;
  };
  while (i < values.length) {
    const no = values[i++] as number;
    intents.push((no < 0 ? values[i++] : build(shapes[no]!)) as Intent);
  }
  return intents;
}

/** A patch from the wire, with its intents rebuilt. */
export function patchOfRows(patch: KindPatch<IntentRows>): KindPatch {
  if ('all' in patch) return patch.append ? { kind: patch.kind, all: intentsOfRows(patch.all), append: true } : { kind: patch.kind, all: intentsOfRows(patch.all) };
  return { kind: patch.kind, length: patch.length, at: patch.at, intents: intentsOfRows(patch.intents) };
}

function threadError(err: unknown): ThreadError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' && { code }), ...(err.stack && { stack: err.stack }) };
  }
  return { name: 'Error', message: String(err) };
}

/** The fd the agent's registry holds for `handle` (the same number in every thread of the process). */
export function handleFd(table: ReadonlyMap<string, number>, handle: string): number {
  const fd = table.get(handle);
  if (fd === undefined) throw new Error(`socket handle ${JSON.stringify(handle)} not found: it is not open in the agent's registry`);
  return fd;
}

async function serve(data: PluginThreadData): Promise<void> {
  const port = parentPort!;
  const post = (message: FromPluginThread): void => port.postMessage(message);
  const controller = new AbortController();
  const logger = pino(
    { level: data.logLevel, base: undefined, timestamp: false, formatters: { level: (label: string) => ({ level: label }) } },
    { write: (line: string) => post({ t: 'log', line }) },
  );
  /** the agent's socket handles and their fds, as last sent */
  let handles: ReadonlyMap<string, number> = new Map();
  let plugin: DataplanePlugin;
  try {
    const mod = (await import(data.module)) as Record<string, unknown>;
    const factory = mod[data.export] as PluginImplementation | undefined;
    if (typeof factory?.create !== 'function') {
      throw new Error(`${data.module} has no plugin factory export "${data.export}"`);
    }
    plugin = factory.create(data.config, {
      logger,
      pinRoot: data.pinRoot,
      signal: controller.signal,
      // by token again (the agent sends each by its Symbol.for key: a symbol cannot be cloned)
      provided: new Map([...data.provided].map(([key, value]) => [Symbol.for(key), value] as const)),
      ...(data.socketHandles && { socketHandles: { fd: (handle: string) => handleFd(handles, handle) } }),
    });
  } catch (err) {
    post({ t: 'fatal', error: threadError(err) });
    return;
  }

  const mib = (bytes: number): string => (bytes / 1048576).toFixed(0);
  const trim = new IdleTrim({
    gc: (globalThis as { gc?: ExposedGc }).gc,
    onTrim: (ms, rssBefore) =>
      logger.debug({ ms: Math.round(ms) }, `returned memory after large work: rss ${mib(rssBefore)} -> ${mib(process.memoryUsage.rss())} MiB`),
    onError: (err) => logger.warn({ err }, 'could not return memory after large work (gc refused); not tried again'),
  });
  const desired = new Map<string, readonly Intent[]>();
  const unwatch = new Map<number, () => void>();
  /** the parts of results not sent yet, by call id, in order (the agent asks for each with `more`) */
  const parts = new Map<number, (() => readonly unknown[])[]>();
  /** Posts a call's result; its large arrays follow in parts, one each time the agent asks. */
  const postResult = (id: number, result: unknown): void => {
    const { value, arrays } = splitLargeArrays(result);
    if (!arrays.length) return post({ t: 'result', id, value });
    trim.count(arrays.reduce((n, a) => n + a.items.length, 0));
    parts.set(id, resultParts(arrays, RESULT_PART_ITEMS));
    const shape: ResultArray[] = arrays.map((a) => ({ path: a.path, length: a.items.length }));
    post({ t: 'result', id, value, arrays: shape });
  };
  const postPart = (id: number): void => {
    const left = parts.get(id);
    const next = left?.shift();
    if (!left?.length) parts.delete(id);
    if (!next) return;
    try {
      post({ t: 'part', id, items: next() });
    } catch (err) {
      parts.delete(id);
      post({ t: 'error', id, error: threadError(err) });
    }
  };
  const call = async (method: string, args: readonly unknown[]): Promise<unknown> => {
    switch (method) {
      case 'open':
      case 'load':
      case 'seed':
      case 'attach':
        return plugin[method]();
      case 'apply':
        return plugin.apply(new Map(desired) as DesiredState, args[0] as DesiredChanges | undefined);
      case 'status':
        return plugin.status();
      case 'metrics':
        return plugin.metrics?.() ?? [];
      case 'describe':
        return plugin.describe?.(args[0] as string);
      case 'close':
        trim.stop();
        for (const stop of unwatch.values()) stop();
        unwatch.clear();
        return plugin.close(args[0] as CloseOptions);
      default:
        throw new Error(`unknown plugin method ${method}`);
    }
  };

  const take = (patches: readonly KindPatch<IntentRows>[]): void => {
    for (const rows of patches) {
      const patch = patchOfRows(rows);
      trim.count('all' in patch ? patch.all.length : patch.intents.length);
      desired.set(patch.kind, applyKindPatch(desired.get(patch.kind), patch));
    }
  };
  port.on('message', (message: ToPluginThread) => {
    switch (message.t) {
      case 'patch':
        trim.begin();
        take(message.patches);
        trim.end();
        return;
      case 'call':
        trim.begin();
        if (message.handles) handles = message.handles;
        if (message.patches) take(message.patches);
        call(message.method, message.args)
          .then(
            (value) => {
              try {
                postResult(message.id, value);
              } catch (err) {
                post({ t: 'error', id: message.id, error: threadError(err) }); // e.g. a value that cannot be cloned
              }
            },
            (err: unknown) => post({ t: 'error', id: message.id, error: threadError(err) }),
          )
          .finally(() => trim.end());
        return;
      case 'more':
        trim.begin();
        postPart(message.id);
        trim.end();
        return;
      case 'watch': {
        const stop = plugin.watch?.(message.topic, (event) => post({ t: 'event', sub: message.sub, event }));
        if (stop) unwatch.set(message.sub, stop);
        return;
      }
      case 'unwatch':
        unwatch.get(message.sub)?.();
        unwatch.delete(message.sub);
        return;
      case 'abort':
        controller.abort(new Error(message.reason));
        return;
    }
  });
  post({ t: 'ready' });
}

const data = workerData as Partial<PluginThreadData> | undefined;
if (!isMainThread && data?.bpfsteerPluginThread === true) void serve(data as PluginThreadData);
