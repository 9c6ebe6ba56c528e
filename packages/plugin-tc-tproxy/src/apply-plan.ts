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
import { CompileCapacityError, compileRules, type CompileLimits, type CompileRule } from './compile-rules.js';
import { IdAllocator } from './id-pool.js';
import type { IpFamily, Prefix } from './key-prefix.js';
import type { DstKey, PortKey, RuleValue, SrcKey } from './map-codecs.js';
import { checkCapacity, compileAll, compileDirty, placeNodes, type NodeChanges } from './node-changes.js';
import type { PortInterval } from './port-partition.js';
import { identityHash } from './rule-identity.js';
import { RuleIndex, type DirtyPrefixes } from './rule-index.js';
import { ACTION_DENY } from './tproxy-constants.js';
import type { AppliedRule, RuleSlot, TrieState } from './trie-state.js';

export { CompileCapacityError };
export { dstKeyOf, familyCode, portKeyOf, srcKeyOf } from './node-changes.js';

/** A rule as the planner needs it. */
export interface PlanRule {
  readonly identity: string;
  readonly family: IpFamily;
  /** IP protocol number */
  readonly proto: number;
  readonly destination: Prefix;
  readonly source: Prefix;
  readonly low: number;
  readonly high: number;
  /** TCTP_ACTION_* */
  readonly action: number;
  /** 0 unless DIVERT */
  readonly tproxyPort: number;
  /** undefined = every attached interface */
  readonly ifindexes?: readonly number[];
}

/** A tctp_dst value: the node id, and the port intervals of an inline node (else empty). */
export interface DstNodeValue {
  readonly id: number;
  readonly ranges: readonly PortInterval[];
}

export interface ApplyPlan {
  readonly ruleWrites: ReadonlyArray<readonly [number, RuleValue]>;
  /** rule ids handed out by this apply: their hit counters start at zero */
  readonly counterResets: readonly number[];
  readonly portWrites: ReadonlyArray<readonly [PortKey, number]>;
  readonly srcWrites: ReadonlyArray<readonly [SrcKey, number]>;
  /** longest prefix first */
  readonly dstWrites: ReadonlyArray<readonly [DstKey, DstNodeValue]>;
  /** shortest prefix first */
  readonly dstDeletes: readonly DstKey[];
  readonly srcDeletes: readonly SrcKey[];
  readonly portDeletes: readonly PortKey[];
  readonly ruleClears: readonly number[];
}

export type RuleChange = 'added' | 'updated' | 'unchanged';

export interface PlannedApply {
  readonly plan: ApplyPlan;
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
  return {
    id,
    family: r.family,
    proto: r.proto,
    destination: r.destination,
    source: r.source,
    low: r.low,
    high: r.high,
    deny: r.action === ACTION_DENY,
    dstLength: r.destination.length,
    srcLength: r.source.length,
    ifindexes: r.ifindexes,
    rule: r,
  };
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

/** The index operations of one apply, to undo them when it is refused. */
type IndexOp = readonly ['add' | 'remove', CompileRule];

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
  const ids = new Array<number>(n);
  const changes = new Array<RuleChange>(n);
  const records = new Array<AppliedRule>(n);
  const slotWrites: Array<readonly [number, RuleSlot]> = [];
  const counterResets: number[] = [];
  const fresh: AppliedRule[] = [];
  const recompiled: Array<readonly [AppliedRule, AppliedRule]> = []; // [in force, replacement]
  const retargeted: Array<readonly [AppliedRule, PlanRule]> = [];
  const touched: number[] = [];
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
      ids[i] = prev.id;
      records[i] = prev;
      if (prev.rule === r) {
        changes[i] = 'unchanged';
        continue;
      }
      touched.push(i);
      const slot = state.slots[prev.id]!;
      if (slot.action !== r.action || slot.tproxyPort !== r.tproxyPort) {
        slotWrites.push([prev.id, { action: r.action, tproxyPort: r.tproxyPort, identity: slot.identity }]);
        changes[i] = 'updated';
      } else {
        changes[i] = 'unchanged';
      }
      if (sameCompiled(prev, r)) retargeted.push([prev, r]);
      else recompiled.push([prev, (records[i] = appliedRule(r, prev.id))]);
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
      old = state.slots[id];
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
      slotWrites.push([id, { action: r.action, tproxyPort: r.tproxyPort, identity: hash }]);
      changes[i] = old === undefined ? 'added' : 'updated';
    }
    const rec = appliedRule(r, id);
    fresh.push(rec);
    records[i] = rec;
  }
  // the rules in force that this apply does not list (lastApplied holds the records of `applied`)
  const gone: AppliedRule[] = [];
  if (matched < state.applied.size) for (let k = 0; k < lastIds.length; k++) if (taken[lastIds[k]] === 0) gone.push(lastApplied[k]);

  // 2. the index of the new rule set: updated in place (undone when refused), or built anew (also
  // when that is less work: the change is larger than the new rule set)
  const full =
    !synced || state.index === undefined || !state.index.builtFor(input.ifindexes) || gone.length + fresh.length + recompiled.length > n;
  const index = full ? new RuleIndex(input.ifindexes) : state.index!;
  const dirty: DirtyPrefixes = new Map();
  const ops: IndexOp[] = [];
  if (full) {
    for (const rec of records) index.add(rec);
  } else {
    const op = (kind: 'add' | 'remove', rule: CompileRule) => {
      if (kind === 'add') index.add(rule, dirty);
      else index.remove(rule, dirty);
      ops.push([kind, rule]);
    };
    for (const rec of gone) op('remove', rec);
    for (const [rec, next] of recompiled) {
      op('remove', rec);
      op('add', next);
    }
    for (const rec of fresh) op('add', rec);
  }

  // 3. the dst nodes to compile: every node (full), or the changed prefixes' nodes and those inside them
  let nodes: NodeChanges;
  try {
    nodes = full ? compileAll(state, index, epoch) : compileDirty(state, index, dirty, epoch);
    checkCapacity(state, nodes, input.limits ?? {});
  } catch (err) {
    for (let i = ops.length - 1; i >= 0; i--) {
      const [kind, rule] = ops[i];
      if (kind === 'add') index.remove(rule);
      else index.add(rule);
    }
    throw err;
  }

  // 4. from here on nothing throws: update the state while planning the writes
  const ruleWrites: Array<readonly [number, RuleValue]> = [];
  for (const [id, slot] of slotWrites) {
    ruleWrites.push([id, { action: slot.action, tproxy_port_be: slot.tproxyPort, identity: slot.identity }]);
    if (state.slots[id] === undefined) state.ruleCount++;
    state.slots[id] = slot;
  }
  for (const rec of fresh) state.applied.set(rec.rule.identity, rec);
  for (const [, next] of recompiled) state.applied.set(next.rule.identity, next);
  for (const [rec, r] of retargeted) rec.rule = r;
  for (const rec of gone) state.applied.delete(rec.rule.identity);
  state.lastRules = input.rules.slice();
  state.lastApplied = records;
  state.lastIds = ids;
  let ruleClears: number[];
  if (synced) {
    ruleClears = gone.map((rec) => rec.id).sort((a, b) => a - b);
  } else {
    // after an adoption: every slot no rule took
    ruleClears = [];
    for (let id = 1; id < state.slots.length; id++) if (taken[id] === 0 && state.slots[id] !== undefined) ruleClears.push(id);
  }
  for (const id of ruleClears) {
    state.slots[id] = undefined;
    state.ruleCount--;
    rulePool.release(id);
  }
  state.adoptable = new Map();
  state.index = index;
  state.synced = true;
  index.prune();

  const plan = placeNodes(state, nodes, epoch);
  state.rulePool = rulePool.result();
  return {
    plan: { ruleWrites, counterResets, ...plan, ruleClears },
    next: state,
    rules: input.rules,
    ids,
    changes,
    touched,
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
export function planSize(plan: ApplyPlan): { written: number; deleted: number } {
  return {
    written: plan.ruleWrites.length + plan.portWrites.length + plan.srcWrites.length + plan.dstWrites.length,
    deleted: plan.dstDeletes.length + plan.srcDeletes.length + plan.portDeletes.length + plan.ruleClears.length,
  };
}
