/**
 * The pinned summary of the rule maps (tctp_summary, see bpf/tc_tproxy.h): written when the
 * dataplane closes keeping its pins, with the maps exactly as compiled from the rules in force;
 * invalidated by the next dataplane before it may change them. A restart whose summary is valid,
 * whose tctp_rules slots still hash to it, and whose first desired rule set hashes to it too, can
 * trust the maps instead of reading every trie back (TproxyDataplane: seed and apply).
 *
 * The hashes are order-independent sums of per-item 64-bit hashes (two 32-bit lanes), so they are
 * computed in one pass over a list in any order. Pure functions: no map access here.
 */
import type { RuleValue, SummaryValue } from './map-codecs.js';
import { ACTION_CODE, type TproxyRule } from './tproxy-rule.js';
import { hashLanes, mix32 } from './rule-identity.js';
import { SUMMARY_VERSION } from './tproxy-constants.js';

/** An order-independent hash of a set of items, and their count. */
export class LaneSum {
  lo = 0;
  hi = 0;
  count = 0;

  /** one item's lanes (two numbers, not a pair: a sum of 100,000 rules adds as many) */
  add(lo: number, hi: number): void {
    this.lo = (this.lo + lo) >>> 0;
    this.hi = (this.hi + hi) >>> 0;
    this.count++;
  }
}

/** A pair for hashLanes to fill, reused by every call here. */
const LANES: [number, number] = [0, 0];

/** Adds what a rule compiles from: its identity, action, tproxy port and interfaces (names; their ifindexes: ifacesHash). */
function addRule(sum: LaneSum, rule: TproxyRule): void {
  const settings = (ACTION_CODE[rule.action] << 16) | rule.tproxyPort;
  const on = rule.interfaces === undefined ? 0x5bd1e995 : hashLanes(rule.interfaces.join(','), LANES)[0];
  hashLanes(rule.identity, LANES); // (read by index: no destructuring per rule)
  const lo = mix32(LANES[0] ^ Math.imul(settings + 1, 0x9e3779b1));
  sum.add(lo, mix32(LANES[1] ^ Math.imul(on, 0x85ebca6b) ^ lo));
}

/** Adds a tctp_rules slot: its id and value. */
function addSlot(sum: LaneSum, id: number, slot: Pick<RuleValue, 'action' | 'tproxy_port_be' | 'identity'>): void {
  const identityLo = Number(slot.identity & 0xffffffffn);
  const identityHi = Number(slot.identity >> 32n);
  const lo = mix32(identityLo ^ Math.imul(id + 1, 0x9e3779b1));
  sum.add(lo, mix32(identityHi ^ Math.imul(((slot.action & 0xff) << 16) | (slot.tproxy_port_be & 0xffff), 0x85ebca6b) ^ lo));
}

/** The hash of the attached interfaces as `name=ifindex` pairs (any order). */
export function ifacesHash(ifindex: ReadonlyMap<string, number>): number {
  const sum = new LaneSum();
  for (const [name, i] of ifindex) {
    hashLanes(`${name}=${i}`, LANES);
    sum.add(LANES[0], LANES[1]);
  }
  return mix32(sum.lo ^ Math.imul(sum.hi, 0x27d4eb2d) ^ sum.count);
}

/** The hash of the non-empty tctp_rules slots (action 0 is an empty slot). */
export function slotsSum(slots: Iterable<readonly [number, Pick<RuleValue, 'action' | 'tproxy_port_be' | 'identity'>]>): LaneSum {
  const sum = new LaneSum();
  for (const [id, v] of slots) if (v.action !== 0) addSlot(sum, id, v);
  return sum;
}

/** The hash of a rule set. */
export function rulesSum(rules: readonly TproxyRule[]): LaneSum {
  const sum = new LaneSum();
  // indexed: the first apply after a restart sums 100,000 rules, mostly before this is optimized
  for (let i = 0; i < rules.length; i++) addRule(sum, rules[i]);
  return sum;
}

/** What the rule maps hold, as tracked by the dataplane (entry counts of the tries and the hash). */
export interface SummaryCounts {
  readonly dst: number;
  readonly dstHost: number;
  readonly src: number;
  readonly port: number;
}

/** A valid summary of maps compiled from `rules` (in force in `slots`) for the interfaces `ifindex`. */
export function makeSummary(rules: LaneSum, slots: LaneSum, ifindex: ReadonlyMap<string, number>, counts: SummaryCounts): SummaryValue {
  return {
    version: SUMMARY_VERSION,
    ifaces_hash: ifacesHash(ifindex),
    rules_lo: rules.lo,
    rules_hi: rules.hi,
    slots_lo: slots.lo,
    slots_hi: slots.hi,
    rules: slots.count,
    dst: counts.dst,
    dst_host: counts.dstHost,
    src: counts.src,
    port: counts.port,
  };
}

/** The summary that says nothing (written before the rule maps may change). */
export const INVALID_SUMMARY: SummaryValue = {
  version: 0,
  ifaces_hash: 0,
  rules_lo: 0,
  rules_hi: 0,
  slots_lo: 0,
  slots_hi: 0,
  rules: 0,
  dst: 0,
  dst_host: 0,
  src: 0,
  port: 0,
};

/** Whether `summary` is valid, for these interfaces, and the slots read from tctp_rules are the ones it was written with. */
export function summaryHolds(summary: SummaryValue | undefined, slots: LaneSum, ifindex: ReadonlyMap<string, number>): summary is SummaryValue {
  return (
    summary !== undefined &&
    summary.version === SUMMARY_VERSION &&
    summary.ifaces_hash === ifacesHash(ifindex) &&
    summary.rules === slots.count &&
    summary.slots_lo === slots.lo &&
    summary.slots_hi === slots.hi
  );
}

/** Whether the maps summarized by `summary` were compiled from exactly `rules` (one per identity) for the interfaces `ifindex`. */
export function summaryMatchesRules(summary: SummaryValue, rules: readonly TproxyRule[], ifindex: ReadonlyMap<string, number>): boolean {
  if (rules.length !== summary.rules || summary.ifaces_hash !== ifacesHash(ifindex)) return false;
  const sum = rulesSum(rules);
  return sum.lo === summary.rules_lo && sum.hi === summary.rules_hi;
}
