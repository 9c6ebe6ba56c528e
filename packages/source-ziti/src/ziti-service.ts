/**
 * The stateful core behind the HTTP API: holds the rule store, runs every mutation through one
 * serialising queue (compute the new state, commit its intents, and only when the commit is ok
 * make it current and persist it), and joins the store with the plugin's live details.
 */
import { IdleWork, TimeSlicer, type CommitResult, type IntentSink, type SourceContext } from '@bpfsteer/agent-kernel';
import { ApiError, errorMessage } from './errors.js';
import type { InterfaceSettings, Rule, RuleSelector } from './rule.js';
import { ruleKey } from './rule.js';
import { wishesOf, wishSelector } from './rule-owners.js';
import {
  applyBatchInSlices,
  applyOperations,
  flushRules,
  setInterface,
  type InsertOutcome,
  type Operation,
  type OperationResult,
  type StoreError,
  type ZitiState,
} from './rule-store.js';
import { TPROXY_EVENT_TOPIC as EVENT_TOPIC, TPROXY_INTERFACE_KIND as INTERFACE_KIND, TPROXY_RULE_KIND as RULE_KIND } from '@bpfsteer/contract-tproxy';
import { intentChange, type CommittedIntents } from './intent-changes.js';
import { readInterfaceDetails, readRuleDetails, type LiveInterface } from './plugin-views.js';
import { sortRulesInSlices } from './rule-order.js';
import type { PreparedSave } from './state-file.js';

export type RuleFilter = 'all' | 'intercepts' | 'passthrough';

export interface ListedRule extends Rule {
  readonly id: number | null;
  readonly packets: number | null;
  readonly bytes: number | null;
  /** why it diverts nothing now (no listener for it), as the plugin reports */
  readonly problem?: string;
}

export interface RuleList {
  readonly capacity: number | null;
  readonly total: number;
  readonly count: number;
  readonly counters: boolean;
  readonly rules: readonly ListedRule[];
}

export interface BatchSummary {
  readonly operations: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly narrowed: number;
}

export interface CommitNote {
  readonly ok: boolean;
  readonly at: string;
  readonly reason?: string;
  readonly error?: string;
}

export interface Health {
  /** the source serves: `applied` and `dataplane` (never while loading) */
  readonly ok: boolean;
  /** the saved rules are being read at start (requests that change rules wait for them) */
  readonly loading: boolean;
  /** the rules in the store are applied (false after the saved rules were refused at start, until a change is applied) */
  readonly applied: boolean;
  /** a running plugin consumes the rules */
  readonly dataplane: boolean;
  readonly rules: number;
  readonly interfaces: number;
  /** the outcome of the last commit */
  readonly lastCommit: CommitNote | null;
  /** the last refused commit */
  readonly lastError: CommitNote | null;
}

/** The little of a pino logger the service uses. */
export interface ServiceLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ZitiServiceOptions {
  readonly sink: Pick<IntentSink, 'commitChange'>;
  readonly context: Pick<SourceContext, 'describe' | 'watch' | 'consumers'>;
  readonly logger: ServiceLogger;
  readonly initial: ZitiState;
  /** writes the state after a successful commit (absent: nothing is persisted); `prepared`: what preparePersist made of it */
  readonly persist?: (state: ZitiState, prepared?: PreparedSave) => Promise<void>;
  /**
   * makes what persist writes ahead, while the agent applies the commit (absent: persist makes it):
   * begun only once this thread is idle, so it never delays the commit itself (IdleWork)
   */
  readonly preparePersist?: (state: ZitiState) => Promise<PreparedSave>;
  /** when set, inserts and interface settings may only name these interfaces */
  readonly allowedInterfaces?: readonly string[];
}

type Computed<T> = { readonly state: ZitiState; readonly changed: boolean; readonly value: T };

/** Operations checked between two checks of the slice's budget. */
const CHECK_STEP = 1024;

export class ZitiService {
  #state: ZitiState;
  #queue: Promise<unknown> = Promise.resolve();
  #lastCommit: CommitNote | null = null;
  /** the last commit the agent refused (kept: a refused commit changes nothing, it is history) */
  #lastError: CommitNote | null = null;
  /** the state in the store is the one the dataplane holds (false until a commit succeeds) */
  #applied = false;
  /** what the agent holds: each commit sends only the change from it */
  #committed: CommittedIntents | undefined;
  /** the saved rules are being read (load) */
  #loading = false;
  /** reading the saved rules failed: nothing may change the (empty) store */
  #loadError: unknown;
  /** settles once the saved rules are read (or could not be) */
  #loaded: Promise<unknown> = Promise.resolve();
  readonly #options: ZitiServiceOptions;

  constructor(options: ZitiServiceOptions) {
    this.#options = options;
    this.#state = options.initial;
  }

  /**
   * Reads the saved rules with `read` and commits them, first in the queue: the API can answer
   * meanwhile (health: `loading`); requests that change rules wait in the queue, lists wait for
   * the rules. Rejects with read's error; then every later change is refused.
   */
  load(read: () => Promise<ZitiState>): Promise<CommitResult> {
    this.#loading = true;
    const loaded = this.#enqueue(async () => {
      try {
        this.#state = await read();
      } catch (err) {
        this.#loadError = err;
        throw err;
      } finally {
        this.#loading = false;
      }
      return this.#commit(this.#state);
    });
    this.#loaded = loaded.catch(() => undefined);
    return loaded;
  }

  get state(): ZitiState {
    return this.#state;
  }

  insert(rule: Rule): Promise<{ outcome: InsertOutcome; rule: Rule }> {
    return this.#mutate((state) => {
      this.#checkInterfaces(rule.interfaces, ['interfaces']);
      const result = this.#operations(state, [{ op: 'insert', rule }]);
      const first = result.value[0] as Extract<OperationResult, { op: 'insert' }>;
      return { ...result, value: { outcome: first.outcome, rule: first.rule } };
    });
  }

  delete(selector: RuleSelector): Promise<{ removed: readonly Rule[]; narrowed: readonly Rule[] }> {
    return this.#mutate((state) => {
      const result = this.#operations(state, [{ op: 'delete', selector }]);
      const first = result.value[0] as Extract<OperationResult, { op: 'delete' }>;
      return { ...result, value: { removed: first.removed, narrowed: first.narrowed } };
    });
  }

  batch(operations: readonly Operation[]): Promise<BatchSummary> {
    return this.#mutate(async (state, slicer) => {
      for (let i = 0; this.#options.allowedInterfaces && i < operations.length; i++) {
        if (i % CHECK_STEP === 0) await slicer.pause();
        const o = operations[i];
        if (o.op === 'insert') this.#checkInterfaces(o.rule.interfaces, ['operations', i, 'rule', 'interfaces']);
      }
      const result = refusedUnlessOk(await applyBatchInSlices(state, operations, slicer), operations.length);
      return { state: result.state, changed: result.changed, value: { operations: operations.length, ...result.counts } };
    });
  }

  /**
   * Makes `service`'s wishes exactly `rules` (all of that service): inserts the new and changed,
   * removes the gone (in the queue, one commit); resolves to how many operations it took.
   */
  replaceServiceRules(service: string, rules: readonly Rule[]): Promise<number> {
    return this.#mutate((state) => {
      const wanted = new Map(rules.map((r) => [ruleKey(r), r]));
      const operations: Operation[] = [];
      for (const [key, rule] of state.rules) {
        if (!wishesOf(rule).some((w) => w.service === service) || wanted.has(key)) continue;
        operations.push({ op: 'delete', selector: wishSelector(rule, service) });
      }
      for (const rule of wanted.values()) operations.push({ op: 'insert', rule });
      if (operations.length === 0) return { state, changed: false, value: 0 };
      const result = this.#operations(state, operations);
      return { ...result, value: operations.length };
    });
  }

  /** Removes the wishes `select` picks from the rules as they are when it runs (in the queue); resolves to how many. */
  sweep(select: (rules: Iterable<Rule>) => readonly RuleSelector[]): Promise<number> {
    return this.#mutate((state) => {
      const selectors = select(state.rules.values());
      if (selectors.length === 0) return { state, changed: false, value: 0 };
      const result = this.#operations(state, selectors.map((selector) => ({ op: 'delete' as const, selector })));
      return { ...result, value: selectors.length };
    });
  }

  flush(): Promise<{ removed: number }> {
    return this.#mutate((state) => {
      const { state: next, removed } = flushRules(state);
      return { state: next, changed: removed > 0, value: { removed } };
    });
  }

  setInterface(name: string, patch: InterfaceSettings): Promise<{ name: string; settings: InterfaceSettings; changed: boolean }> {
    return this.#mutate((state) => {
      this.#checkInterfaces([name], ['name']);
      const { state: next, settings, changed } = setInterface(state, name, patch);
      return { state: next, changed, value: { name, settings, changed } };
    });
  }

  /** The rules joined with the plugin's counters, in listing order; every step over them runs in slices of `slicer`. */
  async listRules(filter: RuleFilter = 'all', slicer: TimeSlicer = new TimeSlicer()): Promise<RuleList> {
    await this.#loaded;
    const state = this.#state;
    const details = await readRuleDetails(await this.#describe(RULE_KIND), slicer);
    const wanted: Rule[] = [];
    let n = 0;
    for (const r of state.rules.values()) {
      if ((n++ & 255) === 0) await slicer.pause();
      if (filter === 'all' || (filter === 'intercepts' ? r.action === 'divert' : r.action === 'pass')) wanted.push(r);
    }
    const sorted = await sortRulesInSlices(wanted, slicer);
    const rules = new Array<ListedRule>(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      if ((i & 255) === 0) await slicer.pause();
      const rule = sorted[i]!;
      const c = details?.byKey.get(ruleKey(rule));
      rules[i] = { ...rule, id: c?.id ?? null, packets: c?.packets ?? null, bytes: c?.bytes ?? null, ...(c?.problem !== undefined && { problem: c.problem }) };
    }
    return { capacity: details?.capacity ?? null, total: state.rules.size, count: rules.length, counters: details !== undefined, rules };
  }

  async listInterfaces(): Promise<{ name: string; settings: InterfaceSettings; live: LiveInterface | null }[]> {
    await this.#loaded;
    const state = this.#state;
    const live = readInterfaceDetails(await this.#describe(INTERFACE_KIND));
    const names = [...new Set([...(live?.keys() ?? []), ...state.interfaces.keys()])].sort();
    return names.map((name) => ({ name, settings: state.interfaces.get(name) ?? {}, live: live?.get(name) ?? null }));
  }

  watchEvents(listener: (event: unknown) => void): () => void {
    return this.#options.context.watch(EVENT_TOPIC, listener);
  }

  /**
   * Whether the source serves: a running plugin consumes its intents and the rules in the store
   * are the ones applied. A refused request changes nothing, so it does not change this either;
   * the last refused commit is in `lastError`.
   */
  async health(): Promise<Health> {
    const dataplane = await this.#dataplaneRunning();
    return {
      ok: this.#applied && dataplane && !this.#loading,
      loading: this.#loading,
      applied: this.#applied,
      dataplane,
      rules: this.#state.rules.size,
      interfaces: this.#state.interfaces.size,
      lastCommit: this.#lastCommit,
      lastError: this.#lastError,
    };
  }

  /**
   * A running plugin consumes the rules: the agent knows without asking the plugin, so health
   * answers at once even while the plugin is busy with a large apply.
   */
  async #dataplaneRunning(): Promise<boolean> {
    return this.#options.context.consumers(RULE_KIND).some((c) => c.state === 'running');
  }

  async #describe(kind: string): Promise<unknown> {
    try {
      return await this.#options.context.describe(kind);
    } catch (err) {
      this.#options.logger.warn({ err, kind }, 'describe failed; listing without live details');
      return undefined;
    }
  }

  #checkInterfaces(names: readonly string[], path: readonly (string | number)[]): void {
    const allowed = this.#options.allowedInterfaces;
    if (!allowed) return;
    const unknown = names.filter((n) => !allowed.includes(n));
    if (unknown.length) {
      throw new ApiError(
        'ERR_UNKNOWN_INTERFACE',
        `unknown interface ${unknown.map((n) => JSON.stringify(n)).join(', ')}; accepted: ${allowed.join(', ') || '(none)'}`,
        { path },
      );
    }
  }

  #operations(state: ZitiState, operations: readonly Operation[]): Computed<readonly OperationResult[]> {
    const result = refusedUnlessOk(applyOperations(state, operations), operations.length);
    return { state: result.state, changed: result.changed, value: result.results };
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job, job);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #mutate<T>(compute: (state: ZitiState, slicer: TimeSlicer) => Computed<T> | Promise<Computed<T>>): Promise<T> {
    return this.#enqueue(async () => {
      if (this.#loadError !== undefined) {
        throw new ApiError('ERR_UNAVAILABLE', `the saved rules could not be read, so nothing can change them: ${errorMessage(this.#loadError)}`);
      }
      const slicer = new TimeSlicer();
      const { state, changed, value } = await compute(this.#state, slicer); // throws ApiError: nothing changes
      if (!changed) return value;
      const { persist, preparePersist } = this.#options;
      const early = persist && preparePersist ? IdleWork.start(() => preparePersist(state)) : undefined;
      const result = await this.#commit(state, slicer);
      if (!result.ok) {
        early?.cancel();
        throw commitError(result);
      }
      this.#state = state;
      if (persist) {
        try {
          // a record made early that failed is made again by persist
          await persist(state, await early?.take().catch(() => undefined));
        } catch (err) {
          this.#options.logger.error({ err }, 'could not save the ziti rules');
          throw new ApiError(
            'ERR_PERSIST',
            `the change is applied but could not be saved (${errorMessage(err)}); it is saved with the next successful change`,
          );
        }
      }
      return value;
    });
  }

  async #commit(state: ZitiState, slicer: TimeSlicer = new TimeSlicer()): Promise<CommitResult> {
    let result: CommitResult;
    try {
      const { change, next } = await intentChange(this.#committed, state, slicer);
      result = await this.#options.sink.commitChange(change);
      if (result.ok) this.#committed = next;
    } catch (err) {
      result = { ok: false, reason: 'failed', error: errorMessage(err) };
    }
    const at = new Date().toISOString();
    this.#lastCommit = result.ok ? { ok: true, at } : { ok: false, at, reason: result.reason, error: result.error };
    if (result.ok) this.#applied = true; // the committed state becomes the store's
    else {
      this.#lastError = this.#lastCommit;
      this.#options.logger.warn({ reason: result.reason, error: result.error }, 'commit refused');
    }
    return result;
  }
}

type Refused = { readonly ok: false; readonly index: number; readonly error: StoreError };

/** The result when the store accepted the operations; its refusal as an ApiError (naming the operation in a batch). */
function refusedUnlessOk<T extends { readonly ok: true }>(result: T | Refused, operations: number): T {
  if (result.ok) return result;
  const where = operations > 1 ? `operation ${result.index}: ` : '';
  throw new ApiError(result.error.code, `${where}${result.error.message}`, operations > 1 ? { index: result.index } : undefined);
}

export function commitError(result: Extract<CommitResult, { ok: false }>): ApiError {
  switch (result.reason) {
    case 'invalid':
      return new ApiError('ERR_REJECTED', `the agent refused the change (nothing changed): ${result.error}`);
    case 'unavailable':
      return new ApiError('ERR_UNAVAILABLE', `no dataplane to apply the change (nothing changed): ${result.error}`);
    default:
      return new ApiError('ERR_APPLY_FAILED', `the change could not be applied (the previous rules stay in force): ${result.error}`);
  }
}
