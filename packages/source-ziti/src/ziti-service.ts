/**
 * The stateful core behind the HTTP API: holds the rule store, runs every mutation through one
 * serialising queue (compute the new state, commit its intents, and only when the commit is ok
 * make it current and persist it), and joins the store with the plugin's live details.
 */
import type { CommitResult, IntentSink, SourceContext } from '@bpfsteer/agent-kernel';
import { ApiError, errorMessage } from './errors.js';
import { comparePrefixes, tryParsePrefix, type IpPrefix } from '@bpfsteer/ip';
import type { InterfaceSettings, Rule, RuleSelector } from './rule.js';
import { ruleKey } from './rule.js';
import {
  applyBatch,
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

export type RuleFilter = 'all' | 'intercepts' | 'passthrough';

export interface ListedRule extends Rule {
  readonly id: number | null;
  readonly packets: number | null;
  readonly bytes: number | null;
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
  /** the source serves: `applied` and `dataplane` */
  readonly ok: boolean;
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
  /** writes the state after a successful commit (absent: nothing is persisted) */
  readonly persist?: (state: ZitiState) => Promise<void>;
  /** when set, inserts and interface settings may only name these interfaces */
  readonly allowedInterfaces?: readonly string[];
}

type Computed<T> = { readonly state: ZitiState; readonly changed: boolean; readonly value: T };

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
  readonly #options: ZitiServiceOptions;

  constructor(options: ZitiServiceOptions) {
    this.#options = options;
    this.#state = options.initial;
  }

  get state(): ZitiState {
    return this.#state;
  }

  /** Commits the current (loaded) state, e.g. at start; never throws. */
  publishCurrent(): Promise<CommitResult> {
    return this.#enqueue(async () => {
      const result = await this.#commit(this.#state);
      return result;
    });
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
    return this.#mutate((state) => {
      operations.forEach((o, i) => {
        if (o.op === 'insert') this.#checkInterfaces(o.rule.interfaces, ['operations', i, 'rule', 'interfaces']);
      });
      const result = refusedUnlessOk(applyBatch(state, operations), operations.length);
      return { state: result.state, changed: result.changed, value: { operations: operations.length, ...result.counts } };
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

  async listRules(filter: RuleFilter = 'all'): Promise<RuleList> {
    const state = this.#state;
    const details = readRuleDetails(await this.#describe(RULE_KIND));
    const wanted = [...state.rules.values()].filter(
      (r) => filter === 'all' || (filter === 'intercepts' ? r.action === 'divert' : r.action === 'pass'),
    );
    const rules = sortRules(wanted).map((rule): ListedRule => {
      const c = details?.byKey.get(ruleKey(rule));
      return { ...rule, id: c?.id ?? null, packets: c?.packets ?? null, bytes: c?.bytes ?? null };
    });
    return { capacity: details?.capacity ?? null, total: state.rules.size, count: rules.length, counters: details !== undefined, rules };
  }

  async listInterfaces(): Promise<{ name: string; settings: InterfaceSettings; live: LiveInterface | null }[]> {
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
      ok: this.#applied && dataplane,
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

  #mutate<T>(compute: (state: ZitiState) => Computed<T>): Promise<T> {
    return this.#enqueue(async () => {
      const { state, changed, value } = compute(this.#state); // throws ApiError: nothing changes
      if (!changed) return value;
      const result = await this.#commit(state);
      if (!result.ok) throw commitError(result);
      this.#state = state;
      if (this.#options.persist) {
        try {
          await this.#options.persist(state);
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

  async #commit(state: ZitiState): Promise<CommitResult> {
    let result: CommitResult;
    try {
      const { change, next } = intentChange(this.#committed, state);
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

function sortRules(rules: Rule[]): Rule[] {
  const parsed = new Map<string, IpPrefix>();
  const cidr = (text: string): IpPrefix => {
    let c = parsed.get(text);
    if (!c) {
      const p = tryParsePrefix(text);
      if (!p.ok) throw new Error(`store holds an invalid CIDR ${text}`);
      c = p.value;
      parsed.set(text, c);
    }
    return c;
  };
  return rules.sort(
    (a, b) =>
      comparePrefixes(cidr(a.destination), cidr(b.destination)) ||
      comparePrefixes(cidr(a.source), cidr(b.source)) ||
      (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0) ||
      a.ports.low - b.ports.low ||
      a.ports.high - b.ports.high,
  );
}
