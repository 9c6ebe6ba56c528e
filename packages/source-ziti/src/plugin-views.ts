/**
 * What plugin-tc-tproxy reports through `describe` and `watch` (see the issue 3 spec), read
 * defensively: a plugin answer of another shape is treated as "no details", never as a crash.
 */
import { z } from 'zod';
import { canonicalPrefix } from '@bpfsteer/ip';
import { ruleKey, type Protocol } from './rule.js';

const counter = z.union([z.number(), z.bigint()]).transform((v) => Number(v));

const describedRules = z.object({
  capacity: counter.optional(),
  rules: z.array(
    z.object({
      intent: z.object({
        destination: z.string(),
        source: z.string(),
        protocol: z.enum(['tcp', 'udp']),
        ports: z.object({ low: z.number(), high: z.number() }),
      }),
      id: counter,
      packets: counter,
      bytes: counter,
    }),
  ),
});

const describedInterfaces = z.object({
  interfaces: z.array(
    z.object({
      name: z.string(),
      ifindex: counter,
      attachment: z.string(),
      ssh: z.boolean(),
      echo: z.boolean(),
      ipv6: z.boolean(),
      events: z.object({ drops: z.boolean(), diverts: z.boolean() }),
      passed: counter,
      diverted: counter,
      dropped: counter,
      eventsLost: counter,
    }),
  ),
});

export interface RuleCounters {
  readonly id: number;
  readonly packets: number;
  readonly bytes: number;
}

export interface RuleDetails {
  readonly capacity: number | null;
  /** counters by rule key (see ruleKey) */
  readonly byKey: ReadonlyMap<string, RuleCounters>;
}

export type LiveInterface = z.output<typeof describedInterfaces>['interfaces'][number];

/** The key of a described intent, its CIDRs normalised like the store's (undefined if unreadable). */
function describedKey(intent: { destination: string; source: string; protocol: Protocol; ports: { low: number; high: number } }): string | undefined {
  const dst = canonicalPrefix(intent.destination);
  const src = canonicalPrefix(intent.source);
  if (!dst.ok || !src.ok) return undefined;
  return ruleKey({ destination: dst.value.text, source: src.value.text, protocol: intent.protocol, ports: intent.ports });
}

/** Reads `describe('tproxy.rule')`; undefined when the answer is absent or of another shape. */
export function readRuleDetails(described: unknown): RuleDetails | undefined {
  const parsed = describedRules.safeParse(described);
  if (!parsed.success) return undefined;
  const byKey = new Map<string, RuleCounters>();
  for (const r of parsed.data.rules) {
    const key = describedKey(r.intent);
    if (key === undefined) continue;
    const seen = byKey.get(key);
    // a rule compiled per interface may be reported more than once: sum the counters
    byKey.set(key, seen ? { id: seen.id, packets: seen.packets + r.packets, bytes: seen.bytes + r.bytes } : { id: r.id, packets: r.packets, bytes: r.bytes });
  }
  return { capacity: parsed.data.capacity ?? null, byKey };
}

/** Reads `describe('tproxy.interface')`; undefined when absent or of another shape. */
export function readInterfaceDetails(described: unknown): ReadonlyMap<string, LiveInterface> | undefined {
  const parsed = describedInterfaces.safeParse(described);
  if (!parsed.success) return undefined;
  return new Map(parsed.data.interfaces.map((i) => [i.name, i]));
}
