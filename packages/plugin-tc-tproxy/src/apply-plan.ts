/**
 * From the tracked map contents (TrieState) and a desired rule set to the writes that converge the
 * maps, with work proportional to the change: the rules are diffed against those in force (by
 * position in the last input, else by identity), the compiled rule index is updated, and only the
 * dst nodes whose content can have changed are compiled again (node-changes.ts). The writes come
 * in an order under which every lookup during the apply gives the rule of the old or of the new
 * rule set (never a half-built path):
 *
 *   1. rule slots (new and changed) and the counters of new rule ids
 *   2. port, then src entries of new dst nodes (unreachable until their dst entry exists)
 *   3. dst entries, longest prefix first: a changed dst node gets a new id and is switched over by
 *      one dst entry update (copy on write), so a lookup never sees a node half old, half new
 *   4. dst entries no longer wanted, shortest prefix first
 *   5. src, then port entries of the dst nodes replaced or removed (unreachable now)
 *   6. rule slots no longer used
 *
 * A dst node whose content did not change keeps its id and is not touched; so is every
 * rule slot whose value did not change. Ids freed by an apply are reused only by a later one.
 */
import { AppliedRecord } from './applied-rule.js';
import { CompileCapacityError, compileRules, type CompileLimits, type CompileRule } from './compile-rules.js';
import { IdAllocator } from './id-pool.js';
import { checkCapacity, compileAll, compileDirty, placeNodes, type NodeChanges } from './node-changes.js';
import type { PlanRule } from './plan-types.js';
import { PlanWrites, SlotWrites } from './plan-writes.js';
import { identityHash } from './rule-identity.js';
import { RuleIndex, type DirtyPrefixes } from './rule-index.js';
import { ACTION_DENY } from './tproxy-constants.js';
import type { AppliedRule, RuleSlot, TrieState } from './trie-state.js';

export { CompileCapacityError };
export { dstKeyOf, familyCode, portKeyOf, srcKeyOf } from './trie-keys.js';
export type { ApplyPlan, DstNodeValue, PlanRule } from './plan-types.js';
export type { PlanWrites } from './plan-writes.js';

export type RuleChange = 'added' | 'updated' | 'unchanged';

export interface PlannedApply {
  readonly plan: PlanWrites;
  readonly next: TrieState;
  /** the desired rules (the input) */
  readonly rules: readonly PlanRule[];
  /** the rule id of each desired rule, in order */
  readonly ids: readonly number[];
  /** how each desired rule's slot changes */
  readonly changes: readonly RuleChange[];
  /**
   * the indexes of the desired rules that are not the very rule objects in force for their
   * identities (new rules, and rules given as new objects): all others are unchanged
   */
  readonly touched: readonly number[];
  /** rule slots cleared */
  readonly removed: number;
}

export interface PlanInput {
  /** one rule per identity */
  readonly rules: readonly PlanRule[];
  /** attached interfaces */
  readonly ifindexes: readonly number[];
  /** trie capacities */
  readonly limits?: CompileLimits;
}

/** `r` compiled under rule id `id`, as a rule in force. */
function appliedRule(r: PlanRule, id: number): AppliedRule {
  return new AppliedRecord(id, r);
}

/** The rule ids ran out in this apply (ids freed by it are not reusable yet): converge in two steps. */
export class RuleIdsExhausted extends Error {
  constructor() {
    super('rule ids exhausted within one apply');
  }
}

/** Whether `r` compiles to the same trie entries as `c` (the same rule otherwise: one identity). */
function sameCompiled(c: CompileRule, r: PlanRule): boolean {
  if (c.deny !== (r.action === ACTION_DENY)) return false;
  if (c.destination.key !== r.destination.key || c.source.key !== r.source.key || c.family !== r.family || c.proto !== r.proto) return false;
  if (c.low !== r.low || c.high !== r.high) return false;
  const a = c.ifindexes;
  const b = r.ifindexes;
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What one apply does to the rules, gathered position by position before anything changes. */
interface RuleDiff {
  readonly ids: number[];
  readonly changes: RuleChange[];
  readonly records: AppliedRule[];
  /** as the plan writes them (kept as the plan's slots) */
  readonly slotWrites: SlotWrites;
  /** rule ids handed out: their hit counters start at zero */
  readonly counterResets: number[];
  readonly fresh: AppliedRule[];
  /** [in force, replacement] */
  readonly recompiled: Array<readonly [AppliedRule, AppliedRule]>;
  readonly retargeted: Array<readonly [AppliedRule, PlanRule]>;
  readonly touched: number[];
}

function ruleDiff(n = 0): RuleDiff {
  return {
    ids: new Array<number>(n),
    changes: new Array<RuleChange>(n),
    records: new Array<AppliedRule>(n),
    slotWrites: new SlotWrites(),
    counterResets: [],
    fresh: [],
    recompiled: [],
    retargeted: [],
    touched: [],
  };
}

/** `r` at position `i` is the rule in force `prev` (its identity), the same object or a new version of it. */
function keepInForce(state: TrieState, diff: RuleDiff, i: number, prev: AppliedRule, r: PlanRule): void {
  diff.ids[i] = prev.id;
  diff.records[i] = prev;
  if (prev.rule === r) {
    diff.changes[i] = 'unchanged';
    return;
  }
  diff.touched.push(i);
  const slot = state.slots.get(prev.id)!;
  if (slot.action !== r.action || slot.tproxyPort !== r.tproxyPort) {
    diff.slotWrites.push(prev.id, r.action, r.tproxyPort, slot.identity);
    diff.changes[i] = 'updated';
  } else {
    diff.changes[i] = 'unchanged';
  }
  if (sameCompiled(prev, r)) diff.retargeted.push([prev, r]);
  else diff.recompiled.push([prev, (diff.records[i] = appliedRule(r, prev.id))]);
}

/**
 * The index updated for the diff (in place, or built anew when `full`) and the dst nodes to
 * compile; every index change is undone and the error rethrown when the nodes do not fit `limits`.
 */
function compileChanges(
  state: TrieState,
  diff: RuleDiff,
  gone: readonly AppliedRule[],
  index: RuleIndex,
  full: boolean,
  epoch: number,
  limits: CompileLimits,
): NodeChanges {
  const dirty: DirtyPrefixes = new Map();
  if (full) {
    for (const rec of diff.records) index.add(rec);
  } else {
    // indexed loops, here and below: a batch runs these once over 100,000 rules, mostly before
    // they are optimized, and destructuring would allocate an iterator result per element
    for (let k = 0; k < gone.length; k++) index.remove(gone[k], dirty);
    for (let k = 0; k < diff.recompiled.length; k++) {
      index.remove(diff.recompiled[k][0], dirty);
      index.add(diff.recompiled[k][1], dirty);
    }
    for (let k = 0; k < diff.fresh.length; k++) index.add(diff.fresh[k], dirty);
  }
  try {
    const nodes = full ? compileAll(state, index, epoch) : compileDirty(state, index, dirty, epoch);
    checkCapacity(state, nodes, limits);
    return nodes;
  } catch (err) {
    // the same operations undone, last first (a full index is a new one: dropped by the caller)
    if (!full) {
      for (let k = diff.fresh.length - 1; k >= 0; k--) index.remove(diff.fresh[k]);
      for (let k = diff.recompiled.length - 1; k >= 0; k--) {
        const [rec, next] = diff.recompiled[k];
        index.remove(next);
        index.add(rec);
      }
      for (let k = gone.length - 1; k >= 0; k--) index.add(gone[k]);
    }
    throw err;
  }
}

/** The rule slots and the rules in force updated for the diff (nothing throws); the slot writes. */
function commitRules(state: TrieState, diff: RuleDiff, gone: readonly AppliedRule[]): SlotWrites {
  const writes = diff.slotWrites;
  for (let k = 0; k < writes.length; k++) {
    const id = writes.ids[k];
    if (!state.slots.has(id)) state.ruleCount++;
    state.slots.assign(id, writes.actions[k], writes.ports[k], writes.identities[k]);
  }
  for (let k = 0; k < diff.fresh.length; k++) state.applied.set(diff.fresh[k].rule.identity, diff.fresh[k]);
  for (let k = 0; k < diff.recompiled.length; k++) state.applied.set(diff.recompiled[k][1].rule.identity, diff.recompiled[k][1]);
  for (let k = 0; k < diff.retargeted.length; k++) diff.retargeted[k][0].rule = diff.retargeted[k][1];
  for (let k = 0; k < gone.length; k++) state.applied.delete(gone[k].rule.identity);
  return writes;
}

/** Empties the slots of `ruleClears` and frees their ids. */
function clearSlots(state: TrieState, ruleClears: readonly number[], rulePool: IdAllocator): void {
  for (const id of ruleClears) {
    state.slots.delete(id);
    state.ruleCount--;
    rulePool.release(id);
  }
}

/**
 * One convergence step from `state` to `input`: the map operations, and `state` updated to what
 * the maps hold once they ran (returned as `next`; the same object). Nothing is changed when it
 * throws: RuleIdsExhausted (see planConvergence) or CompileCapacityError.
 *
 * The cost follows the change, not the rule set: rules are diffed against the rules in force (the
 * very rule object at the same place in the last input is unchanged, found without a lookup;
 * anything else is looked up by identity), and only the dst nodes of the changed rules'
 * destinations and the nodes inside them are compiled again. A state adopted from the maps, a new
 * set of attached interfaces, or a change larger than the new rule set compiles every node once.
 */
export function planApply(state: TrieState, input: PlanInput): PlannedApply {
  const epoch = ++state.epoch; // first: stamps left by a refused apply never match a later one
  const rulePool = new IdAllocator(state.rulePool);
  const n = input.rules.length;
  const synced = state.synced;

  // 1. the rules against those in force, and their ids (only bookkeeping changes before step 4)
  const diff = ruleDiff(n);
  const { ids, changes, records, counterResets, touched } = diff;
  // the rule ids given out by this apply (a rule listed twice; after an adoption, ids found again)
  const taken = new Uint8Array(state.slots.length);
  // a rule object of the last apply is found by position (the order of a desired state rarely
  // changes), without touching its record; anything else by identity
  const { lastRules, lastApplied, lastIds, lastPosition } = state;
  let matched = 0;
  let j = 0;
  for (let i = 0; i < n; i++) {
    const r = input.rules[i];
    const at = lastRules[j] === r ? j : lastRules[j + 1] === r ? j + 1 : -1; // (j + 1: the rule before it went)
    if (at >= 0) {
      const id = lastIds[at];
      if (taken[id] !== 0) throw new Error(`planApply: rule ${r.identity} is listed twice`);
      taken[id] = 1;
      lastPosition[id] = i;
      matched++;
      j = at + 1;
      ids[i] = id;
      records[i] = lastApplied[at];
      changes[i] = 'unchanged';
      continue;
    }
    const prev = state.applied.size > 0 ? state.applied.get(r.identity) : undefined;
    if (prev !== undefined) {
      if (taken[prev.id] !== 0) throw new Error(`planApply: rule ${r.identity} is listed twice`);
      const was = lastPosition[prev.id];
      if (lastApplied[was] === prev) j = was + 1; // go on from there
      taken[prev.id] = 1;
      lastPosition[prev.id] = i;
      matched++;
      keepInForce(state, diff, i, prev, r);
      continue;
    }
    // a new identity: its id found in the maps after a restart, or a free one
    touched.push(i);
    const hash = identityHash(r.identity);
    let id: number | undefined;
    let old: RuleSlot | undefined;
    const adopted = synced ? undefined : state.adoptable.get(hash);
    if (adopted !== undefined && taken[adopted] === 0) {
      id = adopted;
      old = state.slots.get(id);
    } else {
      id = rulePool.alloc();
      if (id === undefined) throw new RuleIdsExhausted();
      counterResets.push(id);
    }
    taken[id] = 1;
    lastPosition[id] = i;
    ids[i] = id;
    if (old !== undefined && old.action === r.action && old.tproxyPort === r.tproxyPort && old.identity === hash) {
      changes[i] = 'unchanged';
    } else {
      diff.slotWrites.push(id, r.action, r.tproxyPort, hash);
      changes[i] = old === undefined ? 'added' : 'updated';
    }
    const rec = appliedRule(r, id);
    diff.fresh.push(rec);
    records[i] = rec;
  }
  // the rules in force that this apply does not list (lastApplied holds the records of `applied`)
  const gone: AppliedRule[] = [];
  if (matched < state.applied.size) for (let k = 0; k < lastIds.length; k++) if (taken[lastIds[k]] === 0) gone.push(lastApplied[k]);

  // 2.-3. the index of the new rule set: updated in place (undone when refused), or built anew (also
  // when that is less work: the change is larger than the new rule set); the dst nodes to compile
  const full =
    !synced ||
    state.index === undefined ||
    !state.index.builtFor(input.ifindexes) ||
    gone.length + diff.fresh.length + diff.recompiled.length > n;
  const index = full ? new RuleIndex(input.ifindexes) : state.index!;
  const nodes = compileChanges(state, diff, gone, index, full, epoch, input.limits ?? {});

  // 4. from here on nothing throws: update the state while planning the writes
  const slotWrites = commitRules(state, diff, gone);
  state.lastRules = input.rules.slice();
  state.lastApplied = records;
  state.lastIds = ids;
  let ruleClears: number[];
  if (synced) {
    ruleClears = gone.map((rec) => rec.id).sort((a, b) => a - b);
  } else {
    // after an adoption: every slot no rule took
    ruleClears = [];
    for (let id = 1; id < state.slots.length; id++) if (taken[id] === 0 && state.slots.has(id)) ruleClears.push(id);
  }
  clearSlots(state, ruleClears, rulePool);
  state.adoptable = new Map();
  state.index = index;
  state.synced = true;
  index.prune();

  const placed = placeNodes(state, nodes, epoch);
  state.rulePool = rulePool.result();
  return {
    plan: new PlanWrites(slotWrites, counterResets, placed, ruleClears),
    next: state,
    rules: input.rules,
    ids,
    changes,
    touched,
    removed: ruleClears.length,
  };
}

/** planPatch cannot plan this change alone (the caller plans the whole rule set instead). */
export class PatchNotApplicable extends Error {
  constructor(reason: string) {
    super(`the change cannot be planned alone: ${reason}`);
  }
}

export interface PatchInput {
  /** the length of the new rule list */
  readonly length: number;
  /**
   * the positions of the new list whose rules differ from the last apply's input (ascending);
   * every other position below both lengths holds the very rule of the last input
   */
  readonly positions: readonly number[];
  /** the rule at each of `positions` (`rules[k]` at `positions[k]`: no tuple per rule, a batch has 100,000) */
  readonly rules: readonly PlanRule[];
  readonly ifindexes: readonly number[];
  readonly limits?: CompileLimits;
}

/**
 * planApply for a change given by position: only the changed positions (and a cut tail) are looked
 * at, so its cost follows the change, not the rule set. The result is the same as planApply's for
 * the whole new list (`ids` and `changes` hold values at the changed positions only; `rules` is
 * empty). Throws PatchNotApplicable, changing nothing, when the state was adopted, the interfaces
 * changed, the positions do not fit the last input, a new rule's identity stays at an unchanged
 * position (a duplicate) or the rule ids run out; and CompileCapacityError like planApply.
 */
export function planPatch(state: TrieState, input: PatchInput): PlannedApply {
  const before = state.lastRules.length;
  const n = input.length;
  if (!state.synced || state.index === undefined || !state.index.builtFor(input.ifindexes)) {
    throw new PatchNotApplicable('the state was adopted or the attached interfaces changed');
  }
  const { positions, rules } = input;
  if (rules.length !== positions.length) throw new Error('planPatch: one rule per changed position');
  let previous = -1;
  for (let k = 0; k < positions.length; k++) {
    const i = positions[k];
    if (!(i > previous && i < n)) throw new PatchNotApplicable(`position ${i} is out of order or past the end`);
    previous = i;
  }
  if (n > before && (positions.length < n - before || positions[positions.length - (n - before)] !== before)) {
    throw new PatchNotApplicable('the positions past the last input are not all given');
  }
  const { lastApplied } = state;
  // the records leaving their places: at changed positions, and past the new end
  const leaving = new Map<string, AppliedRule>();
  for (let k = 0; k < positions.length; k++) {
    const i = positions[k];
    if (i < before) leaving.set(lastApplied[i].rule.identity, lastApplied[i]);
  }
  for (let i = n; i < before; i++) leaving.set(lastApplied[i].rule.identity, lastApplied[i]);

  const epoch = ++state.epoch;
  const rulePool = new IdAllocator(state.rulePool);
  // by position: preallocated when the change covers most of the list (a batch), else sparse
  const diff = ruleDiff(positions.length * 2 >= n ? n : 0);
  const inForce = state.applied.size > 0; // (none before the first rules: no lookup for each of a first batch)
  // the rules this change adds, by identity: two changed positions holding one rule are not planned
  // apart (two slots); the whole list's check merges them or refuses them, as without changes
  const added = positions.length > 1 ? new Set<string>() : undefined;
  for (let k = 0; k < positions.length; k++) {
    const i = positions[k];
    const r = rules[k];
    const prev = inForce ? state.applied.get(r.identity) : undefined;
    if (prev !== undefined) {
      // in force: it must be leaving another place (else the new list holds it twice)
      if (leaving.get(r.identity) !== prev) throw new PatchNotApplicable(`rule ${r.identity} would be listed twice`);
      leaving.delete(r.identity);
      keepInForce(state, diff, i, prev, r);
      continue;
    }
    if (added !== undefined && added.size === added.add(r.identity).size) throw new PatchNotApplicable(`rule ${r.identity} is listed twice`);
    const id = rulePool.alloc();
    if (id === undefined) throw new PatchNotApplicable('rule ids exhausted');
    diff.counterResets.push(id);
    diff.touched.push(i);
    diff.ids[i] = id;
    diff.slotWrites.push(id, r.action, r.tproxyPort, identityHash(r.identity));
    diff.changes[i] = 'added';
    const rec = appliedRule(r, id);
    diff.fresh.push(rec);
    diff.records[i] = rec;
  }
  const gone = [...leaving.values()];
  const index = state.index;
  const nodes = compileChanges(state, diff, gone, index, false, epoch, input.limits ?? {});

  // from here on nothing throws
  const slotWrites = commitRules(state, diff, gone);
  // the last input, by position: patched in place (planPatch and planApply own these arrays)
  const lastRules = state.lastRules as PlanRule[];
  const lastAppliedOut = state.lastApplied as AppliedRule[];
  const lastIds = state.lastIds as number[];
  for (let k = 0; k < positions.length; k++) {
    const i = positions[k];
    const r = rules[k];
    lastRules[i] = r;
    lastAppliedOut[i] = diff.records[i];
    lastIds[i] = diff.ids[i];
    state.lastPosition[diff.ids[i]] = i;
  }
  lastRules.length = n;
  lastAppliedOut.length = n;
  lastIds.length = n;
  const ruleClears = gone.map((rec) => rec.id).sort((a, b) => a - b);
  clearSlots(state, ruleClears, rulePool);
  index.prune();
  const placed = placeNodes(state, nodes, epoch);
  state.rulePool = rulePool.result();
  return {
    plan: new PlanWrites(slotWrites, diff.counterResets, placed, ruleClears),
    next: state,
    rules: [],
    ids: diff.ids,
    changes: diff.changes,
    touched: diff.touched,
    removed: ruleClears.length,
  };
}

/**
 * The steps that converge `state` to `input`: one, or two when the new rules need ids that only the
 * rules this apply removes would free (first the rules that stay, then all). Throws
 * CompileCapacityError when the rule set does not fit the tries.
 */
export function planConvergence(state: TrieState, input: PlanInput): PlannedApply[] {
  try {
    return [planApply(state, input)];
  } catch (err) {
    if (!(err instanceof RuleIdsExhausted)) throw err;
  }
  // the first step changes the state: make sure the second cannot fail on capacity (the trie
  // entries a rule set needs do not depend on which ids its rules get)
  compileRules(
    input.rules.map((r, i) => appliedRule(r, i + 1)),
    input.ifindexes,
    input.limits,
  );
  const known = input.rules.filter((r) => state.applied.has(r.identity) || state.adoptable.has(identityHash(r.identity)));
  const first = planApply(state, { ...input, rules: known });
  const second = planApply(first.next, input);
  return [first, second];
}

/** Total entries written and deleted by a plan. */
export function planSize(plan: PlanWrites): { written: number; deleted: number } {
  return plan.size();
}
