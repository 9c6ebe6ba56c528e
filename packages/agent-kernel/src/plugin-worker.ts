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
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { CloseOptions, DataplanePlugin, DesiredChanges, DesiredState, Intent, PluginFactory } from './contracts.js';
import type { FromPluginThread, KindPatch, PluginThreadData, ResultArray, ThreadError, ToPluginThread } from './plugin-thread-protocol.js';

/**
 * Most elements of a result's array per message: one message is deserialised in one step on the
 * agent's thread (2,048 of tc-tproxy's rule views: ~5-10 ms).
 */
export const RESULT_PART_ITEMS = 2048;
/** How deep into a result's plain objects large arrays are looked for. */
const RESULT_SPLIT_DEPTH = 4;

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
  if ('all' in patch) return patch.append && current ? current.concat(patch.all) : patch.all;
  const list = (current ?? []) as Intent[];
  for (const [index, intent] of patch.set) list[index] = intent;
  if (list.length !== patch.length) list.length = patch.length;
  return list;
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
    const factory = mod[data.export] as PluginFactory | undefined;
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

  const desired = new Map<string, readonly Intent[]>();
  const unwatch = new Map<number, () => void>();
  /** the parts of results not sent yet, by call id, in order (the agent asks for each with `more`) */
  const parts = new Map<number, (() => readonly unknown[])[]>();
  /** Posts a call's result; its large arrays follow in parts, one each time the agent asks. */
  const postResult = (id: number, result: unknown): void => {
    const { value, arrays } = splitLargeArrays(result);
    if (!arrays.length) return post({ t: 'result', id, value });
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
      case 'describe':
        return plugin.describe?.(args[0] as string);
      case 'close':
        for (const stop of unwatch.values()) stop();
        unwatch.clear();
        return plugin.close(args[0] as CloseOptions);
      default:
        throw new Error(`unknown plugin method ${method}`);
    }
  };

  port.on('message', (message: ToPluginThread) => {
    switch (message.t) {
      case 'handles':
        handles = message.table;
        return;
      case 'patch':
        for (const patch of message.patches) desired.set(patch.kind, applyKindPatch(desired.get(patch.kind), patch));
        return;
      case 'call':
        call(message.method, message.args).then(
          (value) => {
            try {
              postResult(message.id, value);
            } catch (err) {
              post({ t: 'error', id: message.id, error: threadError(err) }); // e.g. a value that cannot be cloned
            }
          },
          (err: unknown) => post({ t: 'error', id: message.id, error: threadError(err) }),
        );
        return;
      case 'more':
        postPart(message.id);
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
