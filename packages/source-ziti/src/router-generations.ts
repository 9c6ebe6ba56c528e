/**
 * Router restarts. An OpenZiti router never flushes its diverter's rules: at each start it runs
 * `-V`, then inserts the rules of every service it has (openziti/ziti tproxy_linux.go and
 * svcpoll.go), so the rules of services removed while it was down would stay for good. The native
 * client sends who called it with `-V` and `-I` (the router: its pid and start time, from /proc);
 * a router that ran `-V` and then inserted is the router now. Once `graceMs` passed since its
 * `-V` (and it is still the router: no other caller ran `-V` and inserted since; a person's `-V`
 * alone changes nothing), the wishes of services it did not insert are removed, if whoever
 * inserted them has exited: they were made by an earlier router (or by someone unknown).
 * Services the new router inserts again keep their rules all along: no gap. Wishes without a
 * service (people's rules through the API) are never removed.
 *
 * Who inserted what, the router's -V (which process, when) and the last -V of a caller that did
 * not insert yet are saved next to the state file (router-generations-file.ts): at each -V,
 * within a second of an insert, and at stop. An agent restarted during the grace period finds
 * them again and sweeps when the period ends, as the agent before it would have; a saved wish
 * whose inserter is unknown (a crash lost the last second of inserts, or no file) counts as made
 * by a router that exited.
 */
import { readFileSync } from 'node:fs';
import type { Rule, RuleIdentity, RuleSelector } from './rule.js';
import { ruleKey } from './rule.js';
import { wishesOf, wishSelector } from './rule-owners.js';
import { ROUTER_CONFIG_SERVICE } from './router-config.js';
import type { GenerationsSnapshot } from './router-generations-file.js';

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
  /** what an earlier agent saved (router-generations-file.ts) */
  readonly saved?: GenerationsSnapshot;
  /** saves what this class knows (at each -V, within SAVE_DELAY_MS of an insert, and at flush) */
  readonly save?: (snapshot: GenerationsSnapshot) => Promise<void>;
  /** the wall clock (ms; tests) */
  readonly now?: () => number;
}

/** Inserts are saved at most this long after the first of them not saved yet (a router start inserts hundreds in a row). */
export const SAVE_DELAY_MS = 1000;

/** A router process and when it ran -V (wall clock ms). */
interface Generation {
  readonly caller: Caller;
  readonly since: number;
}

export class RouterGenerations {
  readonly #options: RouterGenerationsOptions;
  /** who inserted each wish last ("<rule key>\n<service>"); absent: unknown (before this agent started) */
  readonly #insertedBy = new Map<string, Caller>();
  /** the router now: the caller of a -V that inserted since; its sweep is due `graceMs` after that -V */
  #router: Generation | undefined;
  /** the caller of the last -V that did not insert yet: the router once it does (a person's -V never does) */
  #candidate: Generation | undefined;
  #timer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  /** the save in progress (saves never overlap) */
  #saving: Promise<void> = Promise.resolve();
  /** changed since the last save (or the load) */
  #dirty = false;

  constructor(options: RouterGenerationsOptions) {
    this.#options = options;
    const saved = options.saved;
    if (saved === undefined) return;
    for (const [key, pid, start] of saved.insertedBy) this.#insertedBy.set(key, { pid, start });
    const runs = options.runs ?? callerRuns;
    const generation = (g: { pid: number; start: number; since: number }): Generation => ({ caller: { pid: g.pid, start: g.start }, since: g.since });
    if (saved.candidate !== undefined && runs(saved.candidate)) this.#candidate = generation(saved.candidate);
    if (saved.router !== undefined) {
      this.#router = generation(saved.router);
      // the grace period of a router that still runs goes on where the earlier agent left it
      if (runs(this.#router.caller)) this.#scheduleSweep(this.#router);
    }
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** The sweep of `router`'s generation, due `graceMs` after its -V. */
  #scheduleSweep(router: Generation): void {
    clearTimeout(this.#timer);
    if (this.#options.graceMs <= 0) return;
    this.#timer = setTimeout(() => void this.#sweepNow(router), Math.max(0, router.since + this.#options.graceMs - this.#now()));
    this.#timer.unref();
  }

  /** A -V of `caller`: a router starting, or anyone asking the version (only a caller that inserts next counts). */
  started(caller: Caller): void {
    if (sameCaller(caller, this.#router?.caller) || sameCaller(caller, this.#candidate?.caller)) return;
    this.#candidate = { caller, since: this.#now() };
    this.#dirty = true;
    void this.flush();
  }

  /** `service`'s wish for `rule` was inserted by `caller`. */
  inserted(rule: RuleIdentity, service: string, caller: Caller): void {
    this.#insertedBy.set(`${ruleKey(rule)}\n${service}`, caller);
    this.#dirty = true;
    const candidate = this.#candidate;
    if (candidate !== undefined && sameCaller(caller, candidate.caller)) {
      this.#router = candidate; // a -V and then inserts: the router (re)started
      this.#candidate = undefined;
      this.#scheduleSweep(candidate);
    }
    if (this.#insertedBy.size > this.#pruneAt) this.#prune();
    if (this.#options.save !== undefined) {
      // one timer for a run of inserts (a router start makes hundreds in a row), not one per insert
      if (this.#saveTimer === undefined) {
        this.#saveTimer = setTimeout(() => void this.flush(), SAVE_DELAY_MS);
        this.#saveTimer.unref();
      }
    }
  }

  /** What this class knows, as saved. */
  snapshot(): GenerationsSnapshot {
    const saved = (g: Generation) => ({ ...g.caller, since: g.since });
    return {
      ...(this.#router !== undefined && { router: saved(this.#router) }),
      ...(this.#candidate !== undefined && { candidate: saved(this.#candidate) }),
      insertedBy: [...this.#insertedBy].map(([key, by]) => [key, by.pid, by.start] as const),
    };
  }

  /** Saves now what changed (after the save in progress); a failed save is the save function's to report. */
  flush(): Promise<void> {
    const save = this.#options.save;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    if (save === undefined || !this.#dirty) return this.#saving;
    this.#dirty = false;
    const snapshot = this.snapshot();
    this.#saving = this.#saving.then(() => save(snapshot));
    return this.#saving;
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
    const router = this.#router?.caller;
    if (router === undefined) return [];
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
    this.#dirty = true;
    return selectors;
  }

  async #sweepNow(router: Generation): Promise<void> {
    if (router !== this.#router) return; // another router since
    await this.#options.sweep((rules) => (router === this.#router ? this.stale(rules) : []));
  }

  /** Stops the timers and saves what is known. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.flush();
  }
}
