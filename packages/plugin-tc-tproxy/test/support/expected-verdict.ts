/**
 * Test support for the differential kernel test: what tctp_ingress must answer for a packet under
 * BPF_PROG_TEST_RUN, from the brute-force reference matcher (rule-model.ts), and both sides as one
 * comparable text.
 *
 * Under a test run nothing listens on the tproxy ports (and bpf_sk_assign is refused anyway), so a
 * divert rule drops with a "no-listener" event that names the rule and its tproxy port; a deny rule
 * drops with a "deny-rule" event naming the rule; no rule drops with a "no-rule" event; a pass rule
 * passes without an event, and only its hit counter tells which rule it was. An interface the
 * dataplane is not attached to has no settings entry: everything is dropped there without an event.
 */
import type { TproxyEvent } from '@bpfsteer/contract-tproxy';
import type { DifferentialRule } from './random-rule-set.js';
import { referenceWinner, type Packet } from './rule-model.js';

const ACTION_NAME = { 1: 'divert', 2: 'pass', 3: 'deny' } as const;
export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;

export type Verdict =
  | { readonly kind: 'not-attached' }
  | { readonly kind: 'no-rule' }
  | { readonly kind: 'divert' | 'pass' | 'deny'; readonly rule: DifferentialRule };

/** Rules grouped by family and protocol (the matcher then looks only at those that can match). */
export class RuleBuckets {
  readonly #buckets = new Map<string, DifferentialRule[]>();

  constructor(rules: readonly DifferentialRule[]) {
    for (const r of rules) {
      const k = `${r.family}/${r.proto}`;
      const list = this.#buckets.get(k);
      if (list) list.push(r);
      else this.#buckets.set(k, [r]);
    }
  }

  of(p: Packet): readonly DifferentialRule[] {
    return this.#buckets.get(`${p.family}/${p.proto}`) ?? [];
  }
}

/** The verdict the documented precedence gives `packet` on an interface with IPv6 on and drop events on. */
export function expectedVerdict(buckets: RuleBuckets, packet: Packet, attached: readonly number[]): Verdict {
  if (!attached.includes(packet.ifindex)) return { kind: 'not-attached' };
  const winner = referenceWinner(buckets.of(packet), packet, attached) as DifferentialRule | undefined;
  if (winner === undefined) return { kind: 'no-rule' };
  return { kind: ACTION_NAME[winner.action as 1 | 2 | 3], rule: winner };
}

/** What tctp_ingress should show for `v`; `idOf` gives a rule's id in the maps. */
export function describeExpected(v: Verdict, idOf: (r: DifferentialRule) => number | undefined): string {
  switch (v.kind) {
    case 'not-attached':
      return 'TC_ACT_SHOT, no event';
    case 'no-rule':
      return 'TC_ACT_SHOT, event drop/no-rule';
    case 'deny':
      return `TC_ACT_SHOT, event drop/deny-rule rule ${idOf(v.rule)}`;
    case 'divert':
      return `TC_ACT_SHOT, event drop/no-listener rule ${idOf(v.rule)} tproxy port ${v.rule.tproxyPort}`;
    case 'pass':
      return `TC_ACT_OK, no event, rule ${idOf(v.rule)} counted`;
  }
}

export interface Observed {
  readonly returnValue: number;
  readonly events: readonly TproxyEvent[];
  /** for an expected pass: the rule whose hit counter was read, and whether it moved by one */
  readonly counted?: { readonly ruleId: number | undefined; readonly moved: boolean };
}

/** What the program did, in the terms of describeExpected. */
export function describeObserved(o: Observed): string {
  const rv = o.returnValue === TC_ACT_OK ? 'TC_ACT_OK' : o.returnValue === TC_ACT_SHOT ? 'TC_ACT_SHOT' : `return ${o.returnValue}`;
  const events =
    o.events.length === 0
      ? 'no event'
      : o.events
          .map((e) => `event ${e.kind}/${e.reason}${e.ruleId !== undefined ? ` rule ${e.ruleId}` : ''}${e.tproxyPort !== undefined ? ` tproxy port ${e.tproxyPort}` : ''}`)
          .join(', ');
  const counted = o.returnValue === TC_ACT_OK && o.counted ? `, rule ${o.counted.ruleId} ${o.counted.moved ? 'counted' : 'not counted'}` : '';
  return `${rv}, ${events}${counted}`;
}
