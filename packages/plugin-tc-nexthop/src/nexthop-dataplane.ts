/**
 * The tc-nexthop dataplane: a tc egress program that sends packets by SOURCE prefix to a chosen
 * interface and next hop (bpf_redirect_neigh), with the seed's operations:
 *   attachFilter(ifname)   - run the program on an interface's egress (pinned, re-adopted on restart)
 *   enableRedirect(rule)   - add or replace the rule for a source prefix
 *   disableRedirect(source)
 * plus setRules (the whole desired rule set, as an agent plugin applies it), list and close.
 *
 * Lifecycle (mirrors a libbpf skeleton): open -> load (maps reused from pins) -> seed (adopt what
 * the maps hold and make the prefix index consistent) -> attach/apply -> close; the stages, pins,
 * links and close semantics are core-bpf's DataplaneLifecycle. Every input is validated and every
 * interface resolved before any map is written.
 */
import type { MapStatus } from '@bpfsteer/agent-kernel/plugin-kit';
import { existsSync } from 'node:fs';
import {
  BpfError,
  DataplaneLifecycle,
  InvalidArgumentError,
  NotFoundError,
  attachTc,
  BPFSTEER_NEIGH_PROTOCOL,
  deleteNeighbour,
  ifIndex,
  listNeighbours,
  setManagedNeighbour,
  ifName,
  openPinnedLink,
  startDataplane,
  type Link,
  type Program,
  type ReleaseLinkOptions,
} from '@bpfsteer/core-bpf';
import { planApply, planConvergence } from './apply-plan.js';
import { defaultObjectPath } from './bpf-object-path.js';
import { adoptRules } from './map-entries.js';
import { MAP, PROGRAM_NAME } from './map-codecs.js';
import {
  clearSlots,
  executePlan,
  mapSizes,
  nexthopSkeleton,
  readCounters,
  readIndex,
  readKernelRules,
  type NexthopMaps,
} from './nexthop-maps.js';
import { checkInterfaceName, parseRule, parseRuleSet, parseSource, type NexthopRuleSpec } from './nexthop-rule.js';
import { computeV6Index, emptyV4Index, V4_BUCKETS, type V4Index, type V6Index } from './prefix-index.js';
import { resolveRule, type PlacedRule, type ResolvedRule } from './slot-allocation.js';

import { DEFAULT_MAX_RULES, MAX_MAX_RULES } from './nexthop-limits.js';

export { DEFAULT_MAX_RULES, MAX_MAX_RULES };

export interface NexthopDataplaneOptions {
  /** bpffs directory owned by this dataplane: maps under maps/, links under links/. Without it nothing is pinned. */
  readonly pinRoot?: string;
  /** network namespace (name in /var/run/netns or a path) holding the interfaces; default: the caller's */
  readonly netns?: string;
  /** rule capacity, default 16384; changing it needs a close without keepPinned first */
  readonly maxRules?: number;
  /** compiled object; default: bpf/tc_nexthop.bpf.o shipped in this package */
  readonly objectPath?: string;
}

export interface RedirectRuleStatus {
  /** canonical source prefix */
  readonly source: string;
  readonly nexthop: string;
  /** interface name; undefined when an adopted rule's ifindex no longer has one */
  readonly interface: string | undefined;
  readonly ifindex: number;
  readonly packets: number;
  readonly bytes: number;
}

export interface FilterStatus {
  readonly interface: string;
  readonly type: string;
  readonly target: string;
  readonly pinned?: string;
}

/** A kernel-managed neighbour entry this dataplane keeps for a next hop of its rules. */
export interface NeighbourStatus {
  readonly interface: string;
  readonly nexthop: string;
  /** NUD state the kernel reports ('reachable' once resolved); 'missing' when the entry is gone */
  readonly state: string;
  /** false when an administrator's static entry serves this next hop (left alone, not ours) */
  readonly owned: boolean;
}

export interface NexthopDataplaneStatus {
  readonly filters: readonly FilterStatus[];
  readonly neighbours: readonly NeighbourStatus[];
  /** neighbour entries that could not be removed (they stay until the next successful apply or close) */
  readonly problems: readonly string[];
  readonly maps: readonly MapStatus[];
  readonly rules: readonly RedirectRuleStatus[];
}

export interface ApplyCounts {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
}

/** The capacity, checked; the kit checks pinRoot, netns and the object. */
function validMaxRules(options: NexthopDataplaneOptions): number {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('tc-nexthop: options must be an object { pinRoot?, netns?, maxRules?, objectPath? }');
  }
  const maxRules = options.maxRules ?? DEFAULT_MAX_RULES;
  if (!Number.isInteger(maxRules) || maxRules < 1 || maxRules > MAX_MAX_RULES) {
    throw new InvalidArgumentError(`tc-nexthop: maxRules must be an integer 1..${MAX_MAX_RULES}, got ${JSON.stringify(options.maxRules)}`);
  }
  return maxRules;
}

export class NexthopDataplane {
  readonly #maxRules: number;
  readonly #life: DataplaneLifecycle<typeof nexthopSkeleton>;
  /** what the maps hold, by canonical source prefix, and their prefix index */
  #placed = new Map<string, PlacedRule>();
  #index: { v4: V4Index; v6: V6Index } = { v4: emptyV4Index(), v6: computeV6Index([]) };
  /**
   * Managed neighbour entries by `${interface} ${nexthop}`: true when the entry is ours (carries
   * BPFSTEER_NEIGH_PROTOCOL), false when an administrator's static entry serves the pair.
   */
  #neighbours = new Map<string, boolean>();
  /** neighbour cleanups that failed, by key, shown in status() */
  readonly #neighbourProblems = new Map<string, string>();

  private constructor(options: NexthopDataplaneOptions) {
    this.#maxRules = validMaxRules(options);
    const { pinRoot, netns, objectPath = defaultObjectPath() } = options;
    this.#life = new DataplaneLifecycle({ name: 'tc-nexthop', objectPath, skeleton: nexthopSkeleton, pinRoot, netns });
  }

  /** Checks the options and that the object exists; nothing touches the kernel yet. */
  static open(options: NexthopDataplaneOptions = {}): NexthopDataplane {
    return new NexthopDataplane(options);
  }

  /** open + load + seed: a dataplane ready for attachFilter and rules. */
  static start(options: NexthopDataplaneOptions = {}): NexthopDataplane {
    return startDataplane(NexthopDataplane.open(options), (dp) => {
      dp.load();
      dp.seed();
    });
  }

  get maxRules(): number {
    return this.#maxRules;
  }

  get netns(): string | undefined {
    return this.#life.netns;
  }

  /** Loads the program and creates the maps, reusing compatible maps pinned under pinRoot/maps. */
  load(): void {
    const sizes = mapSizes(this.#maxRules);
    this.#life.load({
      maps: Object.fromEntries(Object.values(MAP).map((name) => [name, { maxEntries: sizes[name] }])),
      incompatibleHint: 'maps pinned by another version or maxRules',
    });
  }

  /**
   * Adopts the rules the (possibly reused) maps hold, removes inconsistent leftovers and rewrites
   * the prefix index to match them exactly. After this the program may see traffic.
   */
  seed(): void {
    this.#life.expect('seed', 'loaded');
    this.#resync();
    this.#adoptNeighbours();
    this.#addNeighbours([...this.#placed.values()]);
    this.#pruneNeighbours(this.#placed.values());
    this.#life.advance('seeded');
  }

  #resync(): void {
    const maps = this.#maps();
    const adopted = adoptRules(readKernelRules(maps), this.#maxRules, (i) => this.#nameOf(i));
    const plan = planApply(adopted.placed, adopted.placed, readIndex(maps));
    // the index first (it stops pointing at strays), then the strays themselves
    executePlan(maps, plan);
    maps[MAP.v4Prefixes].deleteMany(adopted.strayV4);
    maps[MAP.v6Prefixes].deleteMany(adopted.strayV6);
    clearSlots(maps, adopted.straySlots);
    this.#placed = adopted.placed;
    this.#index = { v4: plan.v4Index, v6: plan.v6Index };
  }

  /** Our entries as the kernel holds them (re-adopted after a restart), by key. */
  #adoptNeighbours(): void {
    for (const n of listNeighbours({ netns: this.netns, protocol: BPFSTEER_NEIGH_PROTOCOL })) {
      // a NOARP leftover is a dead entry the kernel parked when its device went away: not adoptable
      if (n.ifname !== undefined && n.managed && n.state !== 'noarp') this.#neighbours.set(neighbourKey(n.ifname, n.address), true);
    }
  }

  /**
   * Creates the managed entries `desired` needs that are missing. On failure the entries created
   * here are removed again and the error is thrown: nothing else has changed yet.
   */
  #addNeighbours(desired: readonly ResolvedRule[]): void {
    const created: string[] = [];
    try {
      for (const key of neededNeighbours(desired)) {
        if (this.#neighbours.has(key)) continue;
        const [ifname, address] = splitKey(key);
        const owned = setManagedNeighbour({ ifname, address, netns: this.netns });
        this.#neighbours.set(key, owned);
        if (owned) created.push(key);
      }
    } catch (err) {
      for (const key of created) {
        this.#neighbours.delete(key);
        const [ifname, address] = splitKey(key);
        try {
          deleteNeighbour({ ifname, address, netns: this.netns, protocol: BPFSTEER_NEIGH_PROTOCOL });
        } catch (cleanupErr) {
          this.#neighbours.set(key, true); // still there: removed by a later apply
          this.#neighbourProblems.set(key, `remove neighbour ${address} dev ${ifname}: ${String(cleanupErr)}`);
        }
      }
      throw err;
    }
  }

  /** Removes our entries no rule of `rules` needs any more; failures are kept for status(). */
  #pruneNeighbours(rules: Iterable<ResolvedRule>): void {
    const needed = neededNeighbours(rules);
    for (const [key, owned] of [...this.#neighbours]) {
      if (needed.has(key)) continue;
      if (owned) this.#removeNeighbour(key);
      else this.#neighbours.delete(key);
    }
  }

  #removeNeighbour(key: string): void {
    const [ifname, address] = splitKey(key);
    try {
      deleteNeighbour({ ifname, address, netns: this.netns, protocol: BPFSTEER_NEIGH_PROTOCOL });
      this.#neighbours.delete(key);
      this.#neighbourProblems.delete(key);
    } catch (err) {
      if (err instanceof NotFoundError) {
        // the interface is gone, and its neighbour entries with it
        this.#neighbours.delete(key);
        this.#neighbourProblems.delete(key);
        return;
      }
      this.#neighbourProblems.set(key, `remove neighbour ${address} dev ${ifname}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #nameOf(ifindex: number): string | undefined {
    try {
      return ifName(ifindex, this.netns);
    } catch {
      return undefined;
    }
  }

  /** The loaded tc program (e.g. for BPF_PROG_TEST_RUN). */
  get program(): Program {
    return this.#life.skeleton.programs[PROGRAM_NAME];
  }

  #maps(): NexthopMaps {
    return this.#life.skeleton.maps;
  }

  /** The guard of the operations of a seeded dataplane. */
  #ready(op: string): void {
    this.#life.expect(op, 'seeded');
  }

  /**
   * Runs the program on `ifname`'s egress (inside the configured netns). A link pinned by an earlier
   * run is re-adopted and switched to this program without a gap; attaching twice is a no-op.
   */
  attachFilter(ifname: string): FilterStatus {
    this.#ready('attachFilter');
    checkInterfaceName(ifname, 'attach interface');
    const link =
      this.#life.links.get(ifname) ??
      this.#life.attachLink(ifname, pinFile(ifname), (pinPath) => attachTc(this.program, { ifname, direction: 'egress', netns: this.netns, pinPath }));
    return filterStatus(ifname, link);
  }

  /** Removes the filter from `ifname` (and its pin). False when this dataplane had none there. */
  detachFilter(ifname: string): boolean {
    this.#ready('detachFilter');
    checkInterfaceName(ifname, 'attach interface');
    const link = this.#life.links.get(ifname);
    if (link) {
      link.detach();
      this.#life.links.delete(ifname);
      return true;
    }
    const pin = this.#life.linkPinPath(pinFile(ifname));
    if (pin && existsSync(pin)) {
      openPinnedLink(pin, { netns: this.netns }).detach();
      return true;
    }
    return false;
  }

  /** Detaches filters pinned under pinRoot/links by earlier runs on interfaces not in `keep`. */
  detachOtherFilters(keep: readonly string[]): string[] {
    this.#ready('detachOtherFilters');
    const kept = (file: string) => {
      const ifname = file.startsWith(PIN_PREFIX) ? file.slice(PIN_PREFIX.length) : undefined;
      return ifname === undefined || keep.includes(ifname) || this.#life.links.has(ifname);
    };
    return this.#life.detachPinnedLinksExcept(kept).map((file) => file.slice(PIN_PREFIX.length));
  }

  #resolve(specs: readonly NexthopRuleSpec[]): ResolvedRule[] {
    const rules = parseRuleSet(specs, this.#maxRules);
    const ifindexes = new Map<string, number>();
    for (const r of rules) {
      if (!ifindexes.has(r.interface)) ifindexes.set(r.interface, this.#ifindex(r.interface, r.source.text));
    }
    return rules.map((r) => resolveRule(r, ifindexes.get(r.interface) as number));
  }

  #ifindex(ifname: string, source: string): number {
    try {
      return ifIndex(ifname, this.netns);
    } catch (err) {
      if (err instanceof BpfError) {
        throw new NotFoundError(`interface ${ifname} for the rule of source ${source}: ${err.message}`);
      }
      throw err;
    }
  }

  /**
   * Makes the maps hold exactly `specs` (the complete desired rule set). The whole set is validated
   * and every interface resolved first: a rejected set changes nothing.
   */
  setRules(specs: readonly NexthopRuleSpec[]): ApplyCounts {
    this.#ready('setRules');
    if (!Array.isArray(specs)) throw new InvalidArgumentError('tc-nexthop: setRules expects an array of { source, nexthop, interface }');
    return this.#converge(this.#resolve(specs));
  }

  #converge(desired: readonly ResolvedRule[]): ApplyCounts {
    const maps = this.#maps();
    const { plans, next, report, index } = planConvergence(this.#placed, this.#index, desired, this.#maxRules);
    // next hops resolvable before any packet is redirected to them
    this.#addNeighbours(desired);
    try {
      for (const plan of plans) executePlan(maps, plan);
    } catch (err) {
      // a kernel write failed half-way: learn what the maps now hold so the next attempt diffs right
      this.#resync();
      this.#pruneNeighbours(this.#placed.values());
      throw err;
    }
    this.#placed = next;
    this.#index = index;
    this.#pruneNeighbours(next.values());
    return report;
  }

  /** Adds the rule for `spec.source`, replacing an existing rule for the same prefix. */
  enableRedirect(spec: NexthopRuleSpec): ApplyCounts {
    this.#ready('enableRedirect');
    const rule = parseRule(spec);
    const resolved = resolveRule(rule, this.#ifindex(rule.interface, rule.source.text));
    const others = [...this.#placed.values()].filter((r) => r.source.text !== rule.source.text);
    if (others.length + 1 > this.#maxRules) {
      throw new InvalidArgumentError(`tc-nexthop: ${others.length + 1} redirect rules exceed the capacity of ${this.#maxRules} (maxRules)`);
    }
    return this.#converge([...others, resolved]);
  }

  /** Removes the rule for `source` (same normalisation as enableRedirect). False when there was none. */
  disableRedirect(source: string): boolean {
    this.#ready('disableRedirect');
    const prefix = parseSource(source);
    if (!this.#placed.has(prefix.text)) return false;
    this.#converge([...this.#placed.values()].filter((r) => r.source.text !== prefix.text));
    return true;
  }

  /** The rules in force with their packet/byte counters (summed over CPUs), sorted by source. */
  list(): RedirectRuleStatus[] {
    this.#ready('list');
    const placed = [...this.#placed.values()];
    const counters = readCounters(this.#maps(), placed.map((r) => r.slot));
    return placed
      .map((r) => ({
        source: r.source.text,
        nexthop: r.nexthop.text,
        interface: r.interface,
        ifindex: r.ifindex,
        packets: counters.get(r.slot)?.packets ?? 0,
        bytes: counters.get(r.slot)?.bytes ?? 0,
      }))
      .sort((a, b) => a.source.localeCompare(b.source));
  }

  status(): NexthopDataplaneStatus {
    this.#ready('status');
    const maps = this.#maps();
    const placed = [...this.#placed.values()];
    const v4 = placed.filter((r) => r.source.family === 4).length;
    const { v4: v4Index, v6: v6Index } = this.#index;
    // array maps: "entries" counts the non-empty ones
    let v4Buckets = 0;
    for (let i = 0; i < V4_BUCKETS; i++) if (v4Index.longMask[i] !== 0 || v4Index.fallback[i] !== 0) v4Buckets++;
    let v4Cells = 0;
    for (let i = 0; i < v4Index.subMask.length; i++) if (v4Index.subMask[i] !== 0 || v4Index.subFallback[i] !== 0) v4Cells++;
    const count: Record<string, number> = {
      [MAP.v4Prefixes]: v4,
      [MAP.v6Prefixes]: placed.length - v4,
      [MAP.rules]: placed.length,
      [MAP.counters]: placed.length,
      [MAP.v4Buckets]: v4Buckets,
      [MAP.v4Sub]: v4Cells,
      [MAP.v6Buckets]: v6Index.buckets.size,
      [MAP.v6Short]: 1,
    };
    const kernel = new Map(
      listNeighbours({ netns: this.netns }).flatMap((n) => (n.ifname === undefined ? [] : [[neighbourKey(n.ifname, n.address), n.state] as const])),
    );
    const neighbours = [...this.#neighbours].map(([key, owned]) => {
      const [iface, nexthop] = splitKey(key);
      return { interface: iface, nexthop, state: kernel.get(key) ?? 'missing', owned };
    });
    return {
      filters: [...this.#life.links].map(([ifname, link]) => filterStatus(ifname, link)),
      neighbours: neighbours.sort((a, b) => `${a.interface} ${a.nexthop}`.localeCompare(`${b.interface} ${b.nexthop}`)),
      problems: [...this.#neighbourProblems.values()],
      maps: Object.values(MAP).map((name) => ({ name, entries: count[name], maxEntries: maps[name].map.maxEntries })),
      rules: this.list(),
    };
  }

  /**
   * Releases everything. With keepPinned the pinned filters and maps stay in force (a restarted
   * dataplane re-adopts them); with discardNew too (a failed start) only those an earlier run
   * pinned: the maps this load pinned and the filters it attached are removed. Without keepPinned
   * the filters are detached and every pin is removed. Idempotent.
   */
  close(options: ReleaseLinkOptions = { keepPinned: false }): void {
    this.#life.close(options, () => {
      const problems = options.keepPinned ? [] : this.#removeOwnNeighbours();
      this.#neighbours.clear();
      this.#neighbourProblems.clear();
      if (problems.length > 0) throw new BpfError('ERR_BPF_SYSCALL', `tc-nexthop: close: ${problems.join('; ')}`);
    });
  }

  /** Removes the neighbour entries this dataplane created; returns the removals that failed. */
  #removeOwnNeighbours(): string[] {
    for (const [key, owned] of [...this.#neighbours]) if (owned) this.#removeNeighbour(key);
    return [...this.#neighbourProblems.values()];
  }
}

function neighbourKey(ifname: string, address: string): string {
  return `${ifname} ${address}`;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(' ');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** The distinct (interface, next hop) pairs of `rules` (rules without an interface name need none). */
function neededNeighbours(rules: Iterable<ResolvedRule>): Set<string> {
  const out = new Set<string>();
  for (const r of rules) if (r.interface !== undefined) out.add(neighbourKey(r.interface, r.nexthop.text));
  return out;
}


/** A filter's pin under pinRoot/links is egress-<interface>. */
const PIN_PREFIX = 'egress-';

function pinFile(ifname: string): string {
  return `${PIN_PREFIX}${ifname}`;
}

function filterStatus(ifname: string, link: Link): FilterStatus {
  return { interface: ifname, type: link.type, target: link.target, ...(link.pinnedPath ? { pinned: link.pinnedPath } : {}) };
}
