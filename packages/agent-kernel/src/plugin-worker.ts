/**
 * The entry of a plugin's worker thread: imports the plugin's factory, creates the plugin and runs
 * the calls the agent sends (`ToPluginThread`), so the plugin's synchronous kernel work (FFI map
 * writes, adoption, dumps) never blocks the agent's event loop. It keeps the plugin's desired state
 * as the agent last sent it and receives only the changed positions of each kind's list, so an
 * unchanged intent stays the very same object from one apply to the next (plugins recognise
 * unchanged intents by identity).
 *
 * Self-contained on purpose (only type imports from this package): it runs as it is from the
 * built package and, in this package's tests, from its TypeScript source.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { CloseOptions, DataplanePlugin, DesiredChanges, DesiredState, Intent, PluginFactory } from './contracts.js';
import type { FromPluginThread, KindPatch, PluginThreadData, ThreadError, ToPluginThread } from './plugin-thread-protocol.js';

/** Applies one kind's patch to its current list; returns the new list (a new array when it changed). */
export function applyKindPatch(current: readonly Intent[] | undefined, patch: KindPatch): readonly Intent[] {
  if ('all' in patch) return patch.append && current ? [...current, ...patch.all] : patch.all;
  const next = (current ?? []).slice(0, patch.length);
  for (const [index, intent] of patch.set) next[index] = intent;
  if (next.length !== patch.length) next.length = patch.length;
  return next;
}

function threadError(err: unknown): ThreadError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' && { code }), ...(err.stack && { stack: err.stack }) };
  }
  return { name: 'Error', message: String(err) };
}

async function serve(data: PluginThreadData): Promise<void> {
  const port = parentPort!;
  const post = (message: FromPluginThread): void => port.postMessage(message);
  const controller = new AbortController();
  const logger = pino(
    { level: data.logLevel, base: undefined, timestamp: false, formatters: { level: (label: string) => ({ level: label }) } },
    { write: (line: string) => post({ t: 'log', line }) },
  );
  let plugin: DataplanePlugin;
  try {
    const mod = (await import(data.module)) as Record<string, unknown>;
    const factory = mod[data.export] as PluginFactory | undefined;
    if (typeof factory?.create !== 'function') {
      throw new Error(`${data.module} has no plugin factory export "${data.export}"`);
    }
    plugin = factory.create(data.config, { logger, pinRoot: data.pinRoot, signal: controller.signal, provided: data.provided });
  } catch (err) {
    post({ t: 'fatal', error: threadError(err) });
    return;
  }

  const desired = new Map<string, readonly Intent[]>();
  const unwatch = new Map<number, () => void>();
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
      case 'patch':
        for (const patch of message.patches) desired.set(patch.kind, applyKindPatch(desired.get(patch.kind), patch));
        return;
      case 'call':
        call(message.method, message.args).then(
          (value) => post({ t: 'result', id: message.id, value }),
          (err: unknown) => post({ t: 'error', id: message.id, error: threadError(err) }),
        );
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
