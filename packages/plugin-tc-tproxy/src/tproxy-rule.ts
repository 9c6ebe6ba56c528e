/**
 * Rules as the compiler sees them: a validated `tproxy.rule` intent with parsed prefixes, its
 * canonical identity, and the desired state's rule list checked as a whole (duplicates merged,
 * conflicting duplicates refused) — with a cache by content (RuleNormalizer), since a desired state
 * arrives whole at every apply, as new objects, and mostly unchanged.
 */
import { IntentRejectedError, type Intent } from '@bpfsteer/agent-kernel/plugin-kit';
import type { TproxyRuleIntent } from '@bpfsteer/contract-tproxy';
import { interfaceNameProblem, TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy/kinds';
import { contractSchemas, describeIssues } from './contract-schemas.js';
import { keyPrefixOf, type IpFamily, type Prefix } from './key-prefix.js';
import { ruleIdentity } from './rule-identity.js';
import { ACTION_DENY, ACTION_DIVERT, ACTION_PASS, PROTO_TCP, PROTO_UDP } from './tproxy-constants.js';

export type RuleAction = 'divert' | 'pass' | 'deny';

export interface TproxyRule {
  /** canonical "dst src proto low-high" */
  readonly identity: string;
  readonly family: IpFamily;
  readonly protocol: 'tcp' | 'udp';
  readonly destination: Prefix;
  readonly source: Prefix;
  readonly low: number;
  readonly high: number;
  readonly action: RuleAction;
  /** 0 unless action is divert */
  readonly tproxyPort: number;
  /** sorted interface names; undefined = every attached interface */
  readonly interfaces: readonly string[] | undefined;
  /** the intent as applied (with kind) */
  readonly intent: TproxyRuleIntent;
}

export const ACTION_CODE: Record<RuleAction, number> = { divert: ACTION_DIVERT, pass: ACTION_PASS, deny: ACTION_DENY };
export const PROTO_NUMBER = { tcp: PROTO_TCP, udp: PROTO_UDP } as const;

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

/**
 * The rule of a valid intent, checked field by field exactly as tproxyRuleIntentSchema does but
 * without its cost (a desired state of 100,000 rules is checked at every apply); undefined when
 * anything is wrong, and the schema then says what.
 */
function fastRule<R extends AcceptedRule>(intent: Intent, Rule: RuleClass<R>): R | undefined {
  for (const key in intent) if (!isRuleField(key)) return undefined;
  const { destination, source, protocol, ports, action, tproxyPort, interfaces, service } = intent as Record<string, unknown>;
  if (protocol !== 'tcp' && protocol !== 'udp') return undefined;
  if (action !== 'divert' && action !== 'pass' && action !== 'deny') return undefined;
  if (ports === null || typeof ports !== 'object' || Array.isArray(ports)) return undefined;
  for (const key in ports) if (key !== 'low' && key !== 'high') return undefined;
  const { low, high } = ports as Record<string, unknown>;
  if (!isPort(low) || !isPort(high) || low > high) return undefined;
  if (action === 'divert' ? !isPort(tproxyPort) || tproxyPort === 0 : tproxyPort !== undefined) return undefined;
  if (service !== undefined && (typeof service !== 'string' || service.length > 256)) return undefined;
  let names: string[] | undefined;
  if (interfaces !== undefined) {
    if (!Array.isArray(interfaces) || interfaces.length > 64) return undefined;
    for (const n of interfaces) if (interfaceNameProblem(n) !== undefined) return undefined;
    if (new Set(interfaces).size !== interfaces.length) return undefined;
    if (interfaces.length > 0) names = [...(interfaces as string[])].sort();
  }
  const d = keyPrefixOf(destination);
  const s = keyPrefixOf(source);
  if (d === undefined || s === undefined || d.family !== s.family) return undefined;
  return new Rule(
    d,
    s,
    protocol,
    low,
    high,
    action,
    action === 'divert' ? (tproxyPort as number) : 0,
    names,
    destination as string,
    source as string,
    service as string | undefined,
    interfaces === undefined ? undefined : Object.freeze([...(interfaces as string[])]),
  );
}

/**
 * A rule accepted from an intent. It keeps the intent's own fields (copied when it was accepted,
 * never the caller's objects) and builds `intent` from them when asked (describe): one object per
 * rule instead of a rule, a copy of the intent and its ports.
 */
class AcceptedRule implements TproxyRule {
  readonly identity: string;
  readonly family: IpFamily;
  // the intent's fields that the rule does not hold as they were given
  readonly #destination: string;
  readonly #source: string;
  readonly #service: string | undefined;
  readonly #interfaces: readonly string[] | undefined;

  constructor(
    readonly destination: Prefix,
    readonly source: Prefix,
    readonly protocol: 'tcp' | 'udp',
    readonly low: number,
    readonly high: number,
    readonly action: RuleAction,
    readonly tproxyPort: number,
    readonly interfaces: readonly string[] | undefined,
    /** the intent's own fields: its prefixes as spelled, its service, and a frozen copy of its interfaces in its order */
    givenDestination: string,
    givenSource: string,
    givenService: string | undefined,
    givenInterfaces: readonly string[] | undefined,
  ) {
    this.identity = ruleIdentity(destination.text, source.text, protocol, low, high);
    this.family = destination.family;
    this.#destination = givenDestination;
    this.#source = givenSource;
    this.#service = givenService;
    this.#interfaces = givenInterfaces;
  }

  /** the intent as applied (with kind): a new frozen object at each call */
  get intent(): TproxyRuleIntent {
    const intent: Record<string, unknown> = {
      kind: TPROXY_RULE_KIND,
      destination: this.#destination,
      source: this.#source,
      protocol: this.protocol,
      ports: Object.freeze({ low: this.low, high: this.high }),
      action: this.action,
    };
    if (this.action === 'divert') intent.tproxyPort = this.tproxyPort;
    if (this.#interfaces !== undefined) intent.interfaces = this.#interfaces;
    if (this.#service !== undefined) intent.service = this.#service;
    return Object.freeze(intent) as unknown as TproxyRuleIntent;
  }

  /** Whether `intent` (with its `ports`) has exactly the fields this rule was accepted with (then it normalizes alike). */
  acceptsAlike(intent: Record<string, unknown>, ports: Record<string, unknown>): boolean {
    if (intent.destination !== this.#destination || intent.source !== this.#source || intent.protocol !== this.protocol || intent.action !== this.action) return false;
    if (intent.tproxyPort !== (this.action === 'divert' ? this.tproxyPort : undefined) || intent.service !== this.#service) return false;
    if (ports.low !== this.low || ports.high !== this.high || Array.isArray(ports)) return false;
    for (const key in ports) if (key !== 'low' && key !== 'high') return false;
    for (const key in intent) if (!isRuleField(key)) return false;
    const x = intent.interfaces;
    const y = this.#interfaces;
    if (x === undefined || y === undefined) return x === y;
    if (!Array.isArray(x) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
}

/** AcceptedRule or a class extending it (RuleNormalizer's CachedRule): what fastRule makes. */
type RuleClass<R extends AcceptedRule> = new (...args: ConstructorParameters<typeof AcceptedRule>) => R;

/** A validated rule from one intent; IntentRejectedError saying what is wrong otherwise. */
export function normalizeRule(intent: Intent, where: string | (() => string) = 'tproxy.rule'): TproxyRule {
  return checkedRule(intent, where, AcceptedRule);
}

/** normalizeRule, as the rule class (the rule keeps copies of the intent's fields, never its objects). */
function checkedRule<R extends AcceptedRule>(intent: Intent, where: string | (() => string), Rule: RuleClass<R>): R {
  if (intent !== null && typeof intent === 'object' && !Array.isArray(intent)) {
    const rule = fastRule(intent, Rule);
    if (rule !== undefined) return rule;
  }
  const { kind: _kind, ...fields } = (intent ?? {}) as Intent;
  const parsed = contractSchemas().tproxyRuleIntentSchema.safeParse(fields);
  const at = typeof where === 'function' ? where() : where;
  if (!parsed.success) throw new IntentRejectedError(`${at}: ${describeIssues(parsed.error)}`);
  // the schema accepted what the field check refused: they must not disagree
  throw new IntentRejectedError(`${at}: not a valid tproxy.rule (the plugin's check and its schema disagree; please report)`);
}

/** Whether two rules of one identity would be compiled alike (action, port, interfaces). */
export function sameRuleContent(a: TproxyRule, b: TproxyRule): boolean {
  if (a.action !== b.action || a.tproxyPort !== b.tproxyPort) return false;
  if (a.interfaces === undefined || b.interfaces === undefined) return a.interfaces === b.interfaces;
  return a.interfaces.length === b.interfaces.length && a.interfaces.every((n, i) => n === b.interfaces![i]);
}

function describeRule(r: TproxyRule): string {
  const to = r.action === 'divert' ? ` to port ${r.tproxyPort}` : '';
  const on = r.interfaces ? ` on ${r.interfaces.join(',')}` : '';
  return `${r.action}${to}${on}`;
}

/**
 * The desired state's rules, one per identity, in first-seen order. The same rule listed twice is
 * taken once; two different rules with one identity are refused (IntentRejectedError).
 */
export function normalizeRules(intents: readonly Intent[]): TproxyRule[] {
  return new RuleNormalizer().normalize(intents).rules;
}

/**
 * An accepted rule as RuleNormalizer caches it (a hit is confirmed by AcceptedRule.acceptsAlike):
 * the rule itself with its place in the cache, one object per rule instead of a rule and an entry.
 */
class CachedRule extends AcceptedRule {
  /** shared with the other cached forms of the same identity, once there are several */
  slot: IdentitySlot | undefined = undefined;
  /** the last call that listed it, and where */
  used = 0;
  at = -1;
  /** the normalizer's derived value and the version it was derived for */
  derived: unknown = undefined;
  derivedFor: string | undefined = undefined;
}

/** One identity's rule in the current call (to merge duplicates and refuse conflicting ones). */
interface IdentitySlot {
  epoch: number;
  rule: TproxyRule | undefined;
}

/** Whether `key` is a field of a rule intent, without hashing (the check runs for every field of every intent of every apply). */
export function isRuleField(key: string): boolean {
  switch (key) {
    case 'kind':
    case 'destination':
    case 'source':
    case 'protocol':
    case 'ports':
    case 'action':
    case 'tproxyPort':
    case 'interfaces':
    case 'service':
      return true;
    default:
      return false;
  }
}

/** The rules at the changed positions (normalizeChanged): `rules[k]` and `derived[k]` are those of `positions[k]`. */
export interface ChangedRules<D> {
  readonly rules: readonly TproxyRule[];
  readonly derived: readonly D[];
  /** makes the changed list the normalizer's last call, once it is applied */
  commit(): void;
}

/** A desired state's rules (one per identity, first-seen order) and a value derived from each. */
export interface NormalizedRules<D> {
  readonly rules: TproxyRule[];
  readonly derived: D[];
}

/**
 * normalizeRules with a memory: an intent with the same fields as one accepted before gives the
 * very same TproxyRule object (so that later stages tell an unchanged rule by identity) — found by
 * position (the intent at the same place in the last call had the same `ports` object: sources
 * keep their intents, the agent copies them shallowly; or had the same fields), else by its
 * destination string, and confirmed field by field: no parsing, no new strings. Keeps the rules
 * of the last successful call (and, within bounds, those of later refused calls).
 *
 * `derive` computes a further value per rule (kept with it while the `version` given to normalize
 * stays the same); it may throw IntentRejectedError to refuse the desired state.
 */
export class RuleNormalizer<D = TproxyRule> {
  readonly #derive: (rule: TproxyRule) => D;
  /** by the intents' destination strings (the canonical one and any other seen): one rule, or several */
  #byDestination = new Map<string, CachedRule | CachedRule[]>();
  #size = 0;
  #epoch = 0;
  /** the last successful call: its epoch, and each intent's ports object and cached rule */
  #lastEpoch = 0;
  #lastPorts: unknown[] = [];
  #lastCached: CachedRule[] = [];
  /** the intents of the last successful call, and whether its rules are theirs by position (no duplicates) */
  #lastIntents: readonly Intent[] = [];
  #positional = true;

  constructor(derive?: (rule: TproxyRule) => D) {
    this.#derive = derive ?? ((rule) => rule as D);
  }

  normalize(intents: readonly Intent[], version = ''): NormalizedRules<D> {
    // what refused calls left behind goes once it outgrows what a call uses
    if (this.#size > 2 * (this.#lastCached.length + intents.length) + 1024) {
      for (const c of this.#lastCached) c.used = this.#lastEpoch; // (refused calls stamped some of them since)
      this.#prune(this.#lastEpoch);
    }
    const epoch = ++this.#epoch;
    // one rule per intent but for duplicates: sized up front (cut to the count at the end), not grown
    const out = new Array<TproxyRule>(intents.length);
    const derived = new Array<D>(intents.length);
    let count = 0;
    const lastPorts = this.#lastPorts;
    const lastCached = this.#lastCached;
    const portsSeen = new Array<unknown>(intents.length);
    const cachedSeen = new Array<CachedRule>(intents.length);
    let j = 0;
    for (let index = 0; index < intents.length; index++) {
      const intent = intents[index];
      let cached: CachedRule | undefined;
      if (intent !== null && typeof intent === 'object') {
        const ports = (intent as Record<string, unknown>).ports;
        if (ports !== null && typeof ports === 'object') {
          // the same place as last time, or the next one (an intent before it went)
          const at = lastPorts[j] === ports ? j : lastPorts[j + 1] === ports ? j + 1 : -1;
          if (at >= 0 && lastCached[at].acceptsAlike(intent as Record<string, unknown>, ports as Record<string, unknown>)) {
            cached = lastCached[at];
            j = at + 1;
          } else if (j < lastCached.length && lastCached[j].acceptsAlike(intent as Record<string, unknown>, ports as Record<string, unknown>)) {
            // a new intent equal to the one at the same place (a list sent again as new objects):
            // confirmed field by field without a lookup by destination (a map of 100,000 entries)
            cached = lastCached[j];
            j++;
          } else if (lastCached.length > 0) {
            // (nothing to find before a first call succeeded)
            cached = this.#lookup(intent as Record<string, unknown>, ports as Record<string, unknown>);
            if (cached !== undefined && lastCached[cached.at] === cached) j = cached.at + 1; // go on from there
          }
        }
        portsSeen[index] = ports;
      }
      cached ??= this.#add(intent, index);
      cachedSeen[index] = cached;
      const rule = cached;
      const slot = cached.slot;
      if (slot === undefined ? cached.used === epoch : slot.epoch === epoch) {
        // listed before in this call (itself or another form of its identity)
        const first = slot === undefined ? rule : slot.rule!;
        if (first !== rule && !sameRuleContent(first, rule)) {
          throw new IntentRejectedError(
            `tproxy.rule #${index}: rule ${rule.identity} is listed twice with different settings ` +
              `(${describeRule(first)} and ${describeRule(rule)}); a rule is identified by destination, source, protocol and port range`,
          );
        }
        cached.used = epoch;
        continue;
      }
      cached.used = epoch;
      cached.at = index;
      if (slot !== undefined) {
        slot.epoch = epoch;
        slot.rule = rule;
      }
      if (cached.derivedFor !== version) {
        cached.derived = this.#derive(rule);
        cached.derivedFor = version;
      }
      out[count] = rule;
      derived[count++] = cached.derived as D;
    }
    out.length = derived.length = count;
    this.#lastEpoch = epoch;
    this.#lastPorts = portsSeen;
    this.#lastCached = cachedSeen;
    this.#lastIntents = intents;
    this.#positional = out.length === intents.length;
    if (this.#size > 2 * intents.length + 1024) this.#prune(epoch);
    return { rules: out, derived };
  }

  /**
   * normalize for a change by position: `intents` is the list of the last successful call
   * (`previous`) with other intents at `positions` (ascending, covering every position past the
   * old end). Only those are checked (IntentRejectedError like normalize); the rule and derived
   * value of each is returned. Undefined when `previous` is not the last call's list or that call
   * merged duplicates (its rules are not its intents by position). `commit()`, once the change is
   * applied, makes `intents` the last call's list.
   */
  normalizeChanged(
    intents: readonly Intent[],
    positions: readonly number[],
    previous: readonly Intent[],
    version = '',
  ): ChangedRules<D> | undefined {
    if (previous !== this.#lastIntents || !this.#positional) return undefined;
    // the rule and derived value of positions[k] at k (no tuple per rule: a batch has 100,000)
    const rules = new Array<TproxyRule>(positions.length);
    const derived = new Array<D>(positions.length);
    const found = new Array<CachedRule>(positions.length);
    for (let k = 0; k < positions.length; k++) {
      const index = positions[k];
      const intent = intents[index];
      let cached: CachedRule | undefined;
      const ports = intent !== null && typeof intent === 'object' ? (intent as Record<string, unknown>).ports : undefined;
      if (ports !== null && typeof ports === 'object') cached = this.#lookup(intent as Record<string, unknown>, ports as Record<string, unknown>);
      cached ??= this.#add(intent, index);
      if (cached.derivedFor !== version) {
        cached.derived = this.#derive(cached);
        cached.derivedFor = version;
      }
      found[k] = cached;
      rules[k] = cached;
      derived[k] = cached.derived as D;
    }
    return {
      rules,
      derived,
      commit: () => {
        const lastPorts = this.#lastPorts;
        const lastCached = this.#lastCached;
        for (let k = 0; k < positions.length; k++) {
          const index = positions[k];
          const cached = found[k];
          cached.used = this.#lastEpoch;
          cached.at = index;
          lastCached[index] = cached;
          lastPorts[index] = (intents[index] as Record<string, unknown>).ports;
        }
        lastCached.length = intents.length;
        lastPorts.length = intents.length;
        this.#lastIntents = intents;
      },
    };
  }

  #lookup(intent: Record<string, unknown>, ports: Record<string, unknown>): CachedRule | undefined {
    if (typeof intent.destination !== 'string') return undefined;
    const found = this.#byDestination.get(intent.destination);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return found.acceptsAlike(intent, ports) ? found : undefined;
    for (const c of found) if (c.acceptsAlike(intent, ports)) return c;
    return undefined;
  }

  /** Validates and caches `intent`; IntentRejectedError (nothing cached) when it is not a valid rule. */
  #add(intent: Intent, index: number): CachedRule {
    // the rule outlives this call: it keeps copies of the intent's fields, not the caller's objects
    const cached = checkedRule(intent, () => `tproxy.rule #${index}`, CachedRule);
    const given = (intent as Record<string, unknown>).destination as string;
    // every form of one identity has the same canonical destination: they meet under it (kept
    // under the caller's string when that is the canonical one: found again by pointer)
    const canonical = cached.destination.text;
    const key = given === canonical ? given : canonical;
    const found = this.#byDestination.get(key);
    if (found === undefined) this.#byDestination.set(key, cached);
    else {
      const list = Array.isArray(found) ? found : [found];
      for (const other of list) {
        if (other.identity !== cached.identity) continue;
        other.slot ??= { epoch: other.used, rule: other };
        cached.slot = other.slot;
        break;
      }
      list.push(cached);
      if (list !== found) this.#byDestination.set(key, list);
    }
    if (key !== given) {
      const alias = this.#byDestination.get(given);
      if (alias === undefined) this.#byDestination.set(given, cached);
      else if (Array.isArray(alias)) alias.push(cached);
      else this.#byDestination.set(given, [alias, cached]);
    }
    this.#size++;
    return cached;
  }

  /** Forgets the rules the call `epoch` did not list. */
  #prune(epoch: number): void {
    const byDestination = new Map<string, CachedRule | CachedRule[]>();
    let size = 0;
    // each rule is listed under its canonical destination (and maybe under another spelling): count it there
    const keep = (destination: string, c: CachedRule) => {
      if (destination === c.destination.text) size++;
    };
    for (const [destination, found] of this.#byDestination) {
      if (!Array.isArray(found)) {
        if (found.used !== epoch) continue;
        byDestination.set(destination, found);
        keep(destination, found);
        continue;
      }
      const kept = found.filter((c) => c.used === epoch);
      if (kept.length === 0) continue;
      byDestination.set(destination, kept.length === 1 ? kept[0] : kept);
      for (const c of kept) keep(destination, c);
    }
    this.#byDestination = byDestination;
    this.#size = size;
  }
}
