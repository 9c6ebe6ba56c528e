/**
 * The pinned summary of the rule maps (tctp_summary, see bpf/tc_tproxy.h): written when the
 * dataplane closes keeping its pins, with the maps exactly as compiled from the rules in force;
 * invalidated by the next dataplane before it may change them. A restart whose summary is valid,
 * whose tctp_rules slots still hash to it, and whose first desired rule set hashes to it too, can
 * trust the maps instead of reading every trie back (TproxyDataplane: seed and apply).
 *
 * The rules are hashed as the intents they were accepted from, field by field as given (prefixes
 * as spelled, nothing parsed): the first apply after a restart recognises its 100,000 rules in
 * ~50 ms where normalising them first took ~0.4 s, on the agent's path from start to running.
 * Equal intents normalise to equal rules, so a match means the same maps; an intent spelled
 * otherwise than before merely misses the summary (the maps are then read back, as without one).
 *
 * The hashes are order-independent sums of per-item 64-bit hashes (two 32-bit lanes), so they are
 * computed in one pass over a list in any order. Pure functions: no map access here.
 */
import { TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy/kinds';
import type { RuleValue, SummaryValue } from './map-codecs.js';
import { ACTION_CODE, isRuleField, PROTO_NUMBER, type TproxyRule } from './tproxy-rule.js';
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

const ABSENT = 0x5bd1e995;

/** The lanes of a string field, or ABSENT's when the field is absent; into LANES. */
function fieldLanes(value: string | undefined): void {
  if (value === undefined) {
    LANES[0] = ABSENT;
    LANES[1] = ~ABSENT >>> 0;
  } else hashLanes(value, LANES);
}

/**
 * Adds a rule intent as given: each field hashed apart (no text joined per rule), then mixed in by
 * its place. False when it is not a rule intent of the known fields and types (never in force).
 */
function addIntent(sum: LaneSum, intent: unknown): boolean {
  if (intent === null || typeof intent !== 'object') return false;
  const o = intent as Record<string, unknown>;
  for (const key in o) if (!isRuleField(key)) return false;
  const { kind, destination, source, protocol, ports, action, tproxyPort, interfaces, service } = o;
  if (kind !== TPROXY_RULE_KIND || typeof destination !== 'string' || typeof source !== 'string') return false;
  // the rule's own codes (compared first: a name like "constructor" is no key of theirs)
  if ((protocol !== 'tcp' && protocol !== 'udp') || (action !== 'divert' && action !== 'pass' && action !== 'deny')) return false;
  const protocolCode = PROTO_NUMBER[protocol];
  const actionCode = ACTION_CODE[action];
  if (ports === null || typeof ports !== 'object' || Array.isArray(ports)) return false;
  for (const key in ports) if (key !== 'low' && key !== 'high') return false;
  const { low, high } = ports as Record<string, unknown>;
  if (typeof low !== 'number' || typeof high !== 'number') return false;
  if (tproxyPort !== undefined && typeof tproxyPort !== 'number') return false;
  if (service !== undefined && typeof service !== 'string') return false;
  let on: string | undefined;
  if (interfaces !== undefined) {
    if (!Array.isArray(interfaces) || !interfaces.every((n) => typeof n === 'string')) return false;
    on = `[${interfaces.join('/')}]`; // "/" is in no interface name
  }
  hashLanes(destination, LANES);
  let lo = mix32(LANES[0] ^ Math.imul(low + 1, 0x9e3779b1));
  let hi = mix32(LANES[1] ^ Math.imul(high + 1, 0x85ebca6b));
  hashLanes(source, LANES);
  lo = mix32(lo ^ Math.imul(LANES[0] ^ ((protocolCode << 24) | (actionCode << 16)), 0xcc9e2d51));
  hi = mix32(hi ^ Math.imul(LANES[1] ^ ((tproxyPort ?? 0x10000) as number), 0x1b873593));
  fieldLanes(on);
  lo = mix32(lo ^ Math.imul(LANES[0], 0x27d4eb2d));
  hi = mix32(hi ^ Math.imul(LANES[1], 0x165667b1));
  fieldLanes(service as string | undefined);
  lo = mix32(lo ^ Math.imul(LANES[0], 0x85ebca77));
  sum.add(lo, mix32(hi ^ Math.imul(LANES[1], 0xc2b2ae3d) ^ lo));
  return true;
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

/** The hash of a list of rule intents as given; undefined when one is not a rule intent of known fields. */
export function intentsSum(intents: readonly unknown[]): LaneSum | undefined {
  const sum = new LaneSum();
  // indexed: the first apply after a restart sums 100,000 intents, mostly before this is optimized
  for (let i = 0; i < intents.length; i++) if (!addIntent(sum, intents[i])) return undefined;
  return sum;
}

/** The hash of rules in force: of the intents they were accepted from (TproxyRule.intent). */
export function rulesSum(rules: readonly TproxyRule[]): LaneSum {
  const sum = new LaneSum();
  for (let i = 0; i < rules.length; i++) addIntent(sum, rules[i].intent);
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

/**
 * Whether the maps summarized by `summary` were compiled from exactly these intents (any order;
 * the rules in force came from the same intents) for the interfaces `ifindex`.
 */
export function summaryMatchesIntents(summary: SummaryValue, intents: readonly unknown[], ifindex: ReadonlyMap<string, number>): boolean {
  if (intents.length !== summary.rules || summary.ifaces_hash !== ifacesHash(ifindex)) return false;
  const sum = intentsSum(intents);
  return sum !== undefined && sum.lo === summary.rules_lo && sum.hi === summary.rules_hi;
}
