/**
 * Router restarts. An OpenZiti router never flushes its diverter's rules: at each start it runs
 * `-V`, then inserts the rules of every service it has (openziti/ziti tproxy_linux.go and
 * svcpoll.go), so the rules of services removed while it was down would stay for good. The native
 * client sends who called it with `-V` and `-I` (the router: its pid and start time, from /proc);
 * a router that ran `-V` and then inserted is the router now. Once `graceMs` passed since its
 * `-V` (and it is still the router: no other `-V` came), the wishes of services it did not insert
 * are removed, if whoever inserted them has exited: they were made by an earlier router (or, after
 * an agent start, by someone unknown). Services the new router inserts again keep their rules all
 * along: no gap. Wishes without a service (people's rules through the API) are never removed.
 *
 * Who inserted what is kept in memory: after an agent start every saved wish counts as made by a
 * router that exited, so a router start while the agent was down (a reboot) is swept too. An
 * agent restart during the grace period forgets the pending sweep; the next router start sweeps.
 */
import { readFileSync } from 'node:fs';
import type { Rule, RuleIdentity, RuleSelector } from './rule.js';
import { ruleKey } from './rule.js';
import { wishesOf, wishSelector } from './rule-owners.js';
import { ROUTER_CONFIG_SERVICE } from './router-config.js';

/** A process, as the native client names its caller: pid and start time (clock ticks after boot, /proc/<pid>/stat field 22). */
export interface Caller {
  readonly pid: number;
  readonly start: number;
}

/** Whether `caller` still runs (the same process: a reused pid has another start time). */
export function callerRuns(caller: Caller, procRoot = '/proc'): boolean {
  try {
    const stat = readFileSync(`${procRoot}/${caller.pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: the fields after it follow the last ")"
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]) === caller.start;
  } catch {
    return false;
  }
}

const sameCaller = (a: Caller | undefined, b: Caller | undefined): boolean => a !== undefined && b !== undefined && a.pid === b.pid && a.start === b.start;

export interface RouterGenerationsOptions {
  /** after a router's -V, how long until the wishes it did not insert again go (0: never) */
  readonly graceMs: number;
  /** the rules now (to forget the inserters of wishes that are gone, when they pile up) */
  readonly rules: () => Iterable<Rule>;
  /** removes the wishes `select` picks from the rules as they are then (one commit, in the service's queue) */
  readonly sweep: (select: (rules: Iterable<Rule>) => RuleSelector[]) => Promise<void>;
  /** whether a caller still runs (callerRuns) */
  readonly runs?: (caller: Caller) => boolean;
}

export class RouterGenerations {
  readonly #options: RouterGenerationsOptions;
  /** who inserted each wish last ("<rule key>\n<service>"); absent: unknown (before this agent started) */
  readonly #insertedBy = new Map<string, Caller>();
  /** the process of the last -V, and whether it inserted since */
  #router: Caller | undefined;
  #routerInserted = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RouterGenerationsOptions) {
    this.#options = options;
  }

  /** A -V of `caller`: a router starting, or anyone asking the version (only a caller that inserts next counts). */
  started(caller: Caller): void {
    if (sameCaller(caller, this.#router)) return;
    this.#router = caller;
    this.#routerInserted = false;
    clearTimeout(this.#timer);
    if (this.#options.graceMs > 0) {
      this.#timer = setTimeout(() => void this.#sweepNow(caller), this.#options.graceMs);
      this.#timer.unref();
    }
  }

  /** `service`'s wish for `rule` was inserted by `caller`. */
  inserted(rule: RuleIdentity, service: string, caller: Caller): void {
    this.#insertedBy.set(`${ruleKey(rule)}\n${service}`, caller);
    if (sameCaller(caller, this.#router)) this.#routerInserted = true;
    if (this.#insertedBy.size > this.#pruneAt) this.#prune();
  }

  /** How many wishes' inserters are kept (diagnostics). */
  get tracked(): number {
    return this.#insertedBy.size;
  }

  /** Once this many are kept, the inserters of wishes that are gone are forgotten (deletes do not tell this class). */
  #pruneAt = 4096;

  #prune(): void {
    const wishes = new Set<string>();
    for (const rule of this.#options.rules()) for (const w of wishesOf(rule)) if (w.service !== undefined) wishes.add(`${ruleKey(rule)}\n${w.service}`);
    for (const key of this.#insertedBy.keys()) if (!wishes.has(key)) this.#insertedBy.delete(key);
    this.#pruneAt = Math.max(4096, 2 * this.#insertedBy.size);
  }

  /** Of `rules`, the wishes an earlier, exited inserter made and the current router did not make again. */
  stale(rules: Iterable<Rule>): RuleSelector[] {
    const router = this.#router;
    if (router === undefined || !this.#routerInserted) return [];
    const runs = this.#options.runs ?? callerRuns;
    const selectors: RuleSelector[] = [];
    const kept = new Map<string, Caller>();
    for (const rule of rules) {
      for (const wish of wishesOf(rule)) {
        if (wish.service === undefined || wish.service === ROUTER_CONFIG_SERVICE) continue;
        const key = `${ruleKey(rule)}\n${wish.service}`;
        const by = this.#insertedBy.get(key);
        if (sameCaller(by, router) || (by !== undefined && runs(by))) {
          kept.set(key, by!);
          continue;
        }
        selectors.push(wishSelector(rule, wish.service));
      }
    }
    // what was deleted meanwhile is forgotten
    this.#insertedBy.clear();
    for (const [key, by] of kept) this.#insertedBy.set(key, by);
    return selectors;
  }

  async #sweepNow(router: Caller): Promise<void> {
    if (!sameCaller(router, this.#router)) return; // another -V since
    await this.#options.sweep((rules) => (sameCaller(router, this.#router) ? this.stale(rules) : []));
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
