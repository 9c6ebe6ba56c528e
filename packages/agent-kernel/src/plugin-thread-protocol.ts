/**
 * The messages between the agent (main thread) and a plugin's worker thread. Types only: both
 * sides import them with `import type`, so the worker entry stays free of relative runtime imports.
 */
import type { Intent } from './contracts.js';

/** What the worker needs to import and create the plugin (structured-clonable). */
export interface PluginThreadData {
  readonly bpfsteerPluginThread: true;
  readonly id: string;
  /** module URL and export name of the PluginFactory */
  readonly module: string;
  readonly export: string;
  readonly config: unknown;
  readonly pinRoot: string;
  /** PluginContext.provided by each token's `Symbol.for` key (a symbol cannot be cloned) */
  readonly provided: ReadonlyMap<string, unknown>;
  readonly logLevel: string;
  /** the agent has a socket-handle registry: the plugin's context resolves handles by the `handles` tables sent */
  readonly socketHandles?: true;
}

/**
 * The changes of one kind's intent list since the previous message: positions whose intent is
 * another object now, and the new length. `all` replaces the whole list instead.
 */
export type KindPatch =
  | { readonly kind: string; readonly length: number; readonly set: readonly (readonly [number, Intent])[] }
  | { readonly kind: string; readonly all: readonly Intent[]; readonly append?: true };

export type PluginMethod = 'open' | 'load' | 'seed' | 'attach' | 'apply' | 'status' | 'describe' | 'close';

/** main -> worker */
export type ToPluginThread =
  | { readonly t: 'call'; readonly id: number; readonly method: PluginMethod; readonly args: readonly unknown[] }
  /** parts of the next apply's desired state, sent ahead of its `apply` call in bounded slices */
  | { readonly t: 'patch'; readonly patches: readonly KindPatch[] }
  /** the registry's open socket handles and their fds (process-wide), sent ahead of an apply when they changed */
  | { readonly t: 'handles'; readonly table: ReadonlyMap<string, number> }
  | { readonly t: 'watch'; readonly sub: number; readonly topic: string }
  | { readonly t: 'unwatch'; readonly sub: number }
  | { readonly t: 'abort'; readonly reason: string }
  /** send the next part of call `id`'s result (see ResultArray) */
  | { readonly t: 'more'; readonly id: number };

/**
 * A large array of a result (more elements than one message should carry: a message is
 * deserialised in one step on the agent's thread), sent apart: `path` is where it goes in the
 * result's `value` (which holds an empty array there meanwhile), `length` its element count. Its
 * elements follow in `part` messages, one per `more` the agent sends when its loop has turned.
 */
export interface ResultArray {
  readonly path: readonly string[];
  readonly length: number;
}

/** An error as it crosses the thread boundary. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** worker -> main */
export type FromPluginThread =
  | { readonly t: 'ready' }
  | { readonly t: 'result'; readonly id: number; readonly value: unknown; readonly arrays?: readonly ResultArray[] }
  /** the next elements of the result's arrays (in the order of `arrays`; a part never spans two arrays) */
  | { readonly t: 'part'; readonly id: number; readonly items: readonly unknown[] }
  | { readonly t: 'error'; readonly id: number; readonly error: ThreadError }
  | { readonly t: 'fatal'; readonly error: ThreadError }
  | { readonly t: 'log'; readonly line: string }
  | { readonly t: 'event'; readonly sub: number; readonly event: unknown };
