/**
 * The rule store: the desired state of the ziti source as an immutable value. Every operation is a
 * pure function returning a new state (the old one is never modified), so a mutation whose commit
 * fails simply keeps the old state.
 *
 * - insert: idempotent upsert by identity. On an existing rule it updates action, tproxy port and
 *   (when given) service; named interfaces are added to the rule's list, none named leaves the
 *   list as it is. A rule with an empty list applies to every attached interface. Another
 *   service's insert of the same identity adds that service's wish (rule-owners.ts).
 * - delete: without interfaces removes the rule; with interfaces removes those from its list and
 *   the rule when the last one goes. A selector without ports.high matches every high port. Of a
 *   rule several services share, only the wishes of the service named, or of those whose listener
 *   is gone, go (rule-owners.ts).
 *   Nothing matching (no rule, no wish of the named service, none bound to a named interface) is
 *   an error and changes nothing.
 */
import { runSteps, runStepsInSlices, type Steps, type TimeSlicer } from '@bpfsteer/agent-kernel';
import type { InterfaceSettings, Rule, RuleSelector } from './rule.js';
import { describeIdentity, ruleKey } from './rule.js';
import { insertWish, removeWishes, wishesOf } from './rule-owners.js';
import { RuleTable, type RuleTableDraft } from './rule-table.js';

export interface ZitiState {
  readonly rules: ReadonlyMap<string, Rule>;
  readonly interfaces: ReadonlyMap<string, InterfaceSettings>;
}

export const emptyState: ZitiState = Object.freeze({ rules: RuleTable.empty, interfaces: new Map() });

export type InsertOutcome = 'created' | 'updated' | 'unchanged';

export interface StoreError {
  readonly code: 'ERR_RULE_NOT_FOUND';
  readonly message: string;
}

export type Operation =
  | { readonly op: 'insert'; readonly rule: Rule }
  | { readonly op: 'delete'; readonly selector: RuleSelector };

export type OperationResult =
  | { readonly op: 'insert'; readonly outcome: InsertOutcome; readonly rule: Rule }
  | { readonly op: 'delete'; readonly removed: readonly Rule[]; readonly narrowed: readonly Rule[] };

export type BatchResult =
  | { readonly ok: true; readonly state: ZitiState; readonly results: readonly OperationResult[]; readonly changed: boolean }
  | { readonly ok: false; readonly index: number; readonly error: StoreError };

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameOwners(a: Rule['owners'], b: Rule['owners']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.length === b.length &&
    a.every((o, i) => o.service === b[i].service && o.action === b[i].action && o.tproxyPort === b[i].tproxyPort && sameList(o.interfaces, b[i].interfaces))
  );
}

function sameRule(a: Rule, b: Rule): boolean {
  return (
    a.action === b.action &&
    a.tproxyPort === b.tproxyPort &&
    a.service === b.service &&
    sameList(a.interfaces, b.interfaces) &&
    sameOwners(a.owners, b.owners)
  );
}

function insertInto(rules: RuleTableDraft, rule: Rule): OperationResult {
  const key = ruleKey(rule);
  const existing = rules.get(key);
  if (!existing) {
    rules.set(key, rule);
    return { op: 'insert', outcome: 'created', rule };
  }
  const merged = insertWish(existing, rule);
  if (sameRule(existing, merged)) return { op: 'insert', outcome: 'unchanged', rule: existing };
  rules.set(key, merged);
  return { op: 'insert', outcome: 'updated', rule: merged };
}

function matching(rules: RuleTableDraft, selector: RuleSelector): [string, Rule][] {
  const { high } = selector.ports;
  if (high !== undefined) {
    const key = ruleKey({ ...selector, ports: { low: selector.ports.low, high } });
    const rule = rules.get(key);
    return rule ? [[key, rule]] : [];
  }
  const found: [string, Rule][] = [];
  for (const entry of rules.entries()) {
    const r = entry[1];
    if (
      r.ports.low === selector.ports.low &&
      r.protocol === selector.protocol &&
      r.destination === selector.destination &&
      r.source === selector.source
    ) {
      found.push(entry);
    }
  }
  return found;
}

function deleteFrom(rules: RuleTableDraft, selector: RuleSelector): OperationResult | StoreError {
  const found = matching(rules, selector);
  if (found.length === 0) {
    return { code: 'ERR_RULE_NOT_FOUND', message: `no rule ${describeIdentity(selector)}` };
  }
  const removed: Rule[] = [];
  const narrowed: Rule[] = [];
  for (const [key, rule] of found) {
    const result = removeWishes(rule, selector);
    if (result.kind === 'removed') {
      rules.delete(key);
      removed.push(rule);
    } else if (result.kind === 'narrowed') {
      rules.set(key, result.rule);
      narrowed.push(result.rule);
    }
  }
  if (removed.length === 0 && narrowed.length === 0) {
    if (selector.service !== undefined) {
      const services = found.map(([, r]) => wishesOf(r).map((w) => w.service ?? '(none)').join(', '));
      return { code: 'ERR_RULE_NOT_FOUND', message: `no rule ${describeIdentity(selector)} of service ${selector.service}; its services: ${services.join('; ')}` };
    }
    const named = selector.interfaces ?? [];
    const bound = found.map(([, r]) => (r.interfaces.length ? `[${r.interfaces.join(',')}]` : 'every interface (no list)'));
    return {
      code: 'ERR_RULE_NOT_FOUND',
      message: `no rule ${describeIdentity(selector)} is bound to interface ${named.join(', ')}; the rule applies to ${bound.join('; ')}`,
    };
  }
  return { op: 'delete', removed, narrowed };
}

type Applied = { readonly ok: true; readonly state: ZitiState; readonly changed: boolean } | { readonly ok: false; readonly index: number; readonly error: StoreError };

/** One operation onto the draft: its result, or the store's refusal. */
function step(rules: RuleTableDraft, operation: Operation): OperationResult | StoreError {
  return operation.op === 'insert' ? insertInto(rules, operation.rule) : deleteFrom(rules, operation.selector);
}

function isChange(result: OperationResult): boolean {
  return result.op === 'delete' || result.outcome !== 'unchanged';
}

/** The operations onto a draft of `state`, in order, all or nothing; yields every 256 operations. */
function* applySteps(state: ZitiState, operations: readonly Operation[], each: (result: OperationResult) => void): Steps<Applied> {
  const rules = RuleTable.from(state.rules).edit();
  let changed = false;
  for (let index = 0; index < operations.length; index++) {
    if ((index & 255) === 255) yield;
    const result = step(rules, operations[index]);
    if ('code' in result) return { ok: false, index, error: result };
    if (isChange(result)) changed = true;
    each(result);
  }
  return { ok: true, state: changed ? { rules: rules.done(), interfaces: state.interfaces } : state, changed };
}

/** Applies inserts and deletes in order, all or nothing. */
export function applyOperations(state: ZitiState, operations: readonly Operation[]): BatchResult {
  const results: OperationResult[] = [];
  const applied = runSteps(applySteps(state, operations, (result) => results.push(result)));
  return applied.ok ? { ...applied, results } : applied;
}

/** How many rules a batch created, updated, left unchanged, removed and narrowed. */
export interface BatchCounts {
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
  narrowed: number;
}

type BatchApplied = (Extract<Applied, { ok: true }> & { readonly counts: BatchCounts }) | Extract<Applied, { ok: false }>;

/**
 * applyOperations for a batch whose answer is counts, in slices of `slicer`'s budget: no result is
 * kept per operation (a batch of 100,000 rules would hold 100,000 of them until its commit ends).
 */
export async function applyBatchInSlices(state: ZitiState, operations: readonly Operation[], slicer: TimeSlicer): Promise<BatchApplied> {
  const counts: BatchCounts = { created: 0, updated: 0, unchanged: 0, removed: 0, narrowed: 0 };
  const count = (result: OperationResult): void => {
    if (result.op === 'insert') counts[result.outcome]++;
    else {
      counts.removed += result.removed.length;
      counts.narrowed += result.narrowed.length;
    }
  };
  const applied = await runStepsInSlices(applySteps(state, operations, count), slicer);
  return applied.ok ? { ...applied, counts } : applied;
}

export function insertRule(state: ZitiState, rule: Rule): { state: ZitiState; outcome: InsertOutcome; rule: Rule } {
  const result = applyOperations(state, [{ op: 'insert', rule }]);
  // an insert cannot fail
  const done = result as Extract<BatchResult, { ok: true }>;
  const first = done.results[0] as Extract<OperationResult, { op: 'insert' }>;
  return { state: done.state, outcome: first.outcome, rule: first.rule };
}

export function deleteRules(
  state: ZitiState,
  selector: RuleSelector,
): { ok: true; state: ZitiState; removed: readonly Rule[]; narrowed: readonly Rule[] } | { ok: false; error: StoreError } {
  const result = applyOperations(state, [{ op: 'delete', selector }]);
  if (!result.ok) return { ok: false, error: result.error };
  const first = result.results[0] as Extract<OperationResult, { op: 'delete' }>;
  return { ok: true, state: result.state, removed: first.removed, narrowed: first.narrowed };
}

export function flushRules(state: ZitiState): { state: ZitiState; removed: number } {
  if (state.rules.size === 0) return { state, removed: 0 };
  return { state: { rules: RuleTable.empty, interfaces: state.interfaces }, removed: state.rules.size };
}

function sameSettings(a: InterfaceSettings | undefined, b: InterfaceSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Merges `patch` into the interface's stored settings (fields absent from the patch keep their value). */
export function setInterface(
  state: ZitiState,
  name: string,
  patch: InterfaceSettings,
): { state: ZitiState; settings: InterfaceSettings; changed: boolean } {
  const old = state.interfaces.get(name);
  const events = patch.events || old?.events ? { ...old?.events, ...patch.events } : undefined;
  const merged: InterfaceSettings = canonicalSettings({ ...old, ...patch, ...(events && { events }) });
  if (sameSettings(old, merged)) return { state, settings: merged, changed: false };
  const interfaces = new Map(state.interfaces);
  interfaces.set(name, merged);
  return { state: { rules: state.rules, interfaces }, settings: merged, changed: true };
}

/** Settings with a fixed key order (so equal settings serialise equally). */
export function canonicalSettings(s: InterfaceSettings): InterfaceSettings {
  const events =
    s.events && (s.events.drops !== undefined || s.events.diverts !== undefined)
      ? {
          ...(s.events.drops !== undefined && { drops: s.events.drops }),
          ...(s.events.diverts !== undefined && { diverts: s.events.diverts }),
        }
      : undefined;
  return {
    ...(s.ssh !== undefined && { ssh: s.ssh }),
    ...(s.echo !== undefined && { echo: s.echo }),
    ...(s.ipv6 !== undefined && { ipv6: s.ipv6 }),
    ...(events && { events }),
  };
}
