/**
 * The tc tproxy dataplane: tctp_ingress / tctp_egress on every configured interface, the rule
 * tries converged to a desired rule set, per-interface settings and addresses, counters and the
 * event stream.
 *
 * Made from a config tcTproxyConfigSchema parsed (`fromConfig`: what the plugin's thread does, where
 * no schema is loaded) or from options checked first (`openTproxyDataplane` / `startTproxyDataplane`
 * in open-tproxy-dataplane.ts).
 *
 * Lifecycle (mirrors a libbpf skeleton): open -> load (maps reused from pins) -> seed (adopt what
 * the pinned maps hold; interface entries ready before any traffic) -> attach -> apply* -> close
 * (stages, pins, links and close: core-bpf's DataplaneLifecycle).
 * An apply validates the whole desired state before the first map write: a rejected state
 * (IntentRejectedError) changes nothing.
 */
import { divertProblem, readDivertListeners, type DivertListeners } from './divert-listeners.js';
import { IntentRejectedError, type Intent, type MapStatus } from '@bpfsteer/agent-kernel/plugin-kit';
import type { TproxyEvent, TproxyInterfaceIntent, TproxyInterfaceView as InterfaceDescription, TproxyRuleView as RuleDescription } from '@bpfsteer/contract-tproxy';
import {
  BpfError,
  DataplaneLifecycle,
  InvalidArgumentError,
  NetlinkChangeWatch,
  NotFoundError,
  RingBuffer,
  attachTc,
  ifIndex,
  interfaceAddresses,
  type Link,
  type ReleaseLinkOptions,
} from '@bpfsteer/core-bpf';
import { rmSync } from 'node:fs';
import { CompileCapacityError, PatchNotApplicable, planConvergence, planPatch, planSize, type PlannedApply, type PlanRule } from './apply-plan.js';
import type { CompileLimits } from './compile-rules.js';
import { defaultObjectPath } from './bpf-object-path.js';
import { addressKeys, ifAddrKeyId, syncAddresses } from './interface-addresses.js';
import { effectiveSettings, interfaceFlags, interfaceOverrides } from './interface-settings.js';
import { CONSTANT, MAP, PROGRAM, type IfAddrKey, type SummaryValue } from './map-codecs.js';
import { INVALID_SUMMARY, makeSummary, rulesSum, slotsSum, summaryHolds, summaryMatchesIntents } from './pinned-summary.js';
import { adoptTries } from './trie-adoption.js';
import { MAX_IF_ADDRS } from './tproxy-constants.js';
import type { TcTproxyConfig, TcTproxyConfigInput, TproxyInterfaceConfig } from './tproxy-config.js';
import { decodeEvent, monotonicToWallOffsetNs } from './tproxy-event.js';
import { executePlan, mapSizes, readKernelTries, readRuleHits, tproxySkeleton, type TproxyMaps } from './tproxy-maps.js';
import { RuleNormalizer, sameRuleContent, type TproxyRule } from './tproxy-rule.js';
import { TproxyPlanRule } from './tproxy-plan-rule.js';
import { isHostNode } from './trie-keys.js';
import { emptyTrieState, placedNodes, type TrieState } from './trie-state.js';

/** The options of a dataplane that are not the plugin's config. */
export interface TproxyRuntimeOptions {
  /** bpffs directory owned by this dataplane: maps under maps/, links under links/. Without it nothing is pinned. */
  readonly pinRoot?: string;
  /** compiled object; default: bpf/tc_tproxy.bpf.o shipped in this package */
  readonly objectPath?: string;
  /** re-read the interfaces' addresses this often once attached, besides at the apply after a netlink change (ms; default 5000, 0 = only then) */
  readonly addressRefreshMs?: number;
  /** errors of background work (address refresh, event stream); default: ignored */
  readonly onError?: (err: unknown) => void;
  /** an optional interface appeared (the firewall now runs on it) or went; default: ignored */
  readonly onInterface?: (change: { readonly interface: string; readonly present: boolean; readonly ifindex?: number }) => void;
}

/** The plugin's config fields (as given: checked and completed by tcTproxyConfigSchema) and the runtime options. */
export interface TproxyDataplaneOptions extends TcTproxyConfigInput, TproxyRuntimeOptions {}

/** What an apply changed: rules added / updated (incl. interface settings) / removed, and map entries. */
export interface TproxyApplyResult {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  /** map entries written and deleted (rule tries and slots) */
  readonly entries: { readonly written: number; readonly deleted: number };
  /** 1, or 2 when the new rules needed the ids of removed ones */
  readonly steps: number;
  /**
   * 'changes': only the changed rules were checked and planned (see apply's `changes`); 'all': the
   * whole set; 'summary': the first apply after a restart whose rules are those the pinned summary
   * says the maps hold (checked, not compiled; nothing written)
   */
  readonly plan: 'changes' | 'all' | 'summary';
  /** wall time of the apply, and of its phases: checking and planning, writing the maps */
  readonly ms: number;
  readonly phases: { readonly planMs: number; readonly writeMs: number };
  /**
   * present when this apply had to finish reading back the maps a restart trusted (see seed) before
   * planning: the part of `ms` spent on it. The read-back runs in the background after the first
   * apply, so a later change rarely waits for it.
   */
  readonly readBackMs?: number;
}

export interface TproxyStatus {
  readonly attachments: ReadonlyArray<{ readonly interface: string; readonly direction: 'ingress' | 'egress'; readonly type: string; readonly pinned?: string }>;
  readonly maps: readonly MapStatus[];
  readonly rules: number;
}

const DIRECTIONS = ['egress', 'ingress'] as const; // egress first: replies of forwarded flows are recorded before ingress filters them

/**
 * How often the links of the netns are checked while optional interfaces are configured: a
 * non-blocking read of the netlink watch (the ifindexes are read again only after a change).
 */
const LINK_CHECK_MS = 500;

/** Whether two maps hold the same keys with the same values, in the same order. */
function sameEntries<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a.size !== b.size) return false;
  const other = b.entries();
  for (const [k, v] of a) {
    const [k2, v2] = other.next().value!;
    if (k !== k2 || v !== v2) return false;
  }
  return true;
}

/** The maps that hold the rules (what an adoption reads back); the summary describes them. */
const RULE_MAPS = [MAP.dst, MAP.dstHost, MAP.src, MAP.port, MAP.rules, MAP.summary] as const;

/** Where a list differs from the one of the last successful apply (agent-kernel's KindChanges). */
export interface RuleListChanges {
  readonly before: number;
  readonly positions: readonly number[];
}

/** What apply writes: the planned steps, the positions whose rules may have changed, and the rule at each. */
interface PlannedRules {
  readonly kind: 'changes' | 'all';
  readonly steps: readonly PlannedApply[];
  readonly candidates: readonly number[];
  ruleAt(i: number): TproxyRule;
  /** makes the change the normalizer's last call, once written */
  commit?(): void;
}

export class TproxyDataplane {
  readonly #config: TcTproxyConfig;
  readonly #life: DataplaneLifecycle<typeof tproxySkeleton>;
  readonly #refreshMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #onInterface: NonNullable<TproxyRuntimeOptions['onInterface']>;
  #trie: TrieState;
  /** the rules as applied, by rule id */
  readonly #applied: Array<TproxyRule | undefined> = [];
  /** validated rules by content, with their planner form (derived again when the interface names map to other ifindexes) */
  readonly #normalizer = new RuleNormalizer<PlanRule>((r) => this.#planRule(r));
  /** the rule intents of the last successful apply (what `changes` of the next one are relative to) */
  #lastRules: readonly Intent[] | undefined;
  #lastRulesLength = 0;
  #overrides = new Map<string, TproxyInterfaceIntent>();
  /** configured interface -> ifindex (resolved at seed, and at an apply after the namespace's links changed) */
  #ifindex = new Map<string, number>();
  /** the values of #ifindex, and their version (the normalizer derives rules again when it changes) */
  #ifindexList: readonly number[] = [];
  #ifindexVersion = '';
  /**
   * link and address notifications of the netns: an apply re-reads the ifindexes and addresses
   * only after one (undefined when it could not be opened: then they are read at every apply)
   */
  #watch: NetlinkChangeWatch | undefined;
  /** a change was noticed and the ifindexes / addresses were not read again since */
  #ifindexStale = true;
  #addressesStale = true;
  /** the #ifindex whose tctp_if_stats entries exist */
  #statsFor: Map<string, number> | undefined;
  /** #hostNodes's last count, for the tries of that epoch */
  #hostCount: { readonly trie: TrieState; readonly epoch: number; readonly n: number } | undefined;
  /** what tctp_if_addrs and tctp_ifaces hold */
  readonly #addrs = new Map<string, IfAddrKey>();
  readonly #flags = new Map<number, number>();
  #ring: RingBuffer | undefined;
  readonly #listeners = new Set<(event: TproxyEvent) => void>();
  #timer: NodeJS.Timeout | undefined;
  /** checks the links of the netns while optional interfaces are configured (#followInterfaces) */
  #linkTimer: NodeJS.Timeout | undefined;
  /** attach() ran: the links are followed from then on */
  #attached = false;
  /** the ifindex each held link was attached on, by link key */
  readonly #linked = new Map<string, number>();
  /**
   * set by seed when the pinned summary holds: the maps were not read back (#trie is empty) until
   * #ensureAdopted; `desired` is the state of the apply that found it matching, if one did
   */
  #trusted: { readonly summary: SummaryValue; desired?: Parameters<TproxyDataplane['apply']>[0] } | undefined;
  /**
   * the read-back of trusted maps, done in the background once the first apply matched the
   * summary (#readBackStep): the tries read so far, and the pending step
   */
  #readBack: { tries?: ReturnType<typeof readKernelTries>; pending?: NodeJS.Immediate } = {};
  /** whether #applied and #trie are what the rule maps hold (false after an adoption until an apply succeeds) */
  #summarizable = false;

  private constructor(config: TcTproxyConfig, options: TproxyRuntimeOptions) {
    this.#config = config;
    const { pinRoot, objectPath = defaultObjectPath() } = options;
    this.#life = new DataplaneLifecycle({ name: 'tc-tproxy', objectPath, skeleton: tproxySkeleton, pinRoot, netns: config.netns });
    this.#refreshMs = options.addressRefreshMs ?? 5000;
    this.#onError = options.onError ?? (() => undefined);
    this.#onInterface = options.onInterface ?? (() => undefined);
    this.#trie = emptyTrieState(config.maxRules);
  }

  /**
   * A dataplane of `config` as tcTproxyConfigSchema parsed it (not checked again) and the runtime
   * options (checked); that the object and netns exist is checked too. Nothing touches the kernel yet.
   */
  static fromConfig(config: TcTproxyConfig, options: TproxyRuntimeOptions = {}): TproxyDataplane {
    const { addressRefreshMs, onError, onInterface } = options;
    if (addressRefreshMs !== undefined && (!Number.isInteger(addressRefreshMs) || addressRefreshMs < 0)) {
      throw new InvalidArgumentError(`tc-tproxy: addressRefreshMs must be a non-negative integer, got ${JSON.stringify(addressRefreshMs)}`);
    }
    if (onError !== undefined && typeof onError !== 'function') throw new InvalidArgumentError('tc-tproxy: onError must be a function');
    if (onInterface !== undefined && typeof onInterface !== 'function') throw new InvalidArgumentError('tc-tproxy: onInterface must be a function');
    return new TproxyDataplane(config, options); // pinRoot, netns and the object are checked there
  }

  get maxRules(): number {
    return this.#config.maxRules;
  }

  get config(): TcTproxyConfig {
    return this.#config;
  }

  #maps(): TproxyMaps {
    return this.#life.skeleton.maps;
  }

  /** Loads the programs and creates the maps (sized from the config), reusing compatible pinned maps. */
  load(): void {
    const sizes = mapSizes(this.#config.maxRules, this.#config.conntrack.maxEntries);
    const ns = (s: number) => BigInt(s) * 1_000_000_000n;
    const ct = this.#config.conntrack;
    this.#life.load({
      // connection tracking and the event ring are transient: replaced when their size changed
      maps: Object.fromEntries(
        Object.values(MAP).map((name) => [name, { maxEntries: sizes[name], transient: name === MAP.ctTcp || name === MAP.ctUdp || name === MAP.events }]),
      ),
      constants: { [CONSTANT.tcpIdle]: ns(ct.tcpIdleSeconds), [CONSTANT.udpIdle]: ns(ct.udpIdleSeconds), [CONSTANT.tcpClosing]: ns(ct.tcpClosingSeconds) },
      incompatibleHint: 'maps pinned by another version or another maxRules',
    });
  }

  /**
   * Adopts what the pinned maps hold (the rules stay in force, their ids are found again) and makes
   * the interface entries ready: settings (kept from before a restart until the next apply),
   * addresses, statistics. After this the programs may see traffic.
   */
  seed(): void {
    this.#life.expect('seed', 'loaded');
    this.#openWatch();
    this.#resolveInterfaces();
    this.#adoptOrTrust();
    const maps = this.#maps();
    for (const [ifindex, v] of maps[MAP.ifaces].entries()) this.#flags.set(ifindex, v.flags);
    for (const k of maps[MAP.ifAddrs].keys()) this.#addrs.set(ifAddrKeyId(k), k);
    const missing: Array<readonly [number, { flags: number }]> = [];
    for (const iface of this.#config.interfaces) {
      const ifindex = this.#ifindex.get(iface.name);
      if (ifindex !== undefined && !this.#flags.has(ifindex)) missing.push([ifindex, { flags: interfaceFlags(effectiveSettings(iface)) }]);
    }
    maps[MAP.ifaces].setMany(missing);
    for (const [ifindex, v] of missing) this.#flags.set(ifindex, v.flags);
    this.#ensureStats();
    this.refreshAddresses();
    this.#life.advance('seeded');
  }

  /**
   * Reads the pinned summary and invalidates it (this dataplane may change the maps from now on;
   * close with keepPinned writes it again). When it holds for these interfaces and the tctp_rules
   * slots (read in one batch, the only map read), the tries are not read back: the first apply
   * checks its rules against the summary (#applyTrusted). Otherwise everything is adopted. Maps
   * that load() created just now are empty: nothing to read (a fresh start reads nothing back, where
   * the 100,000 empty tctp_rules slots and the tries took ~0.2 s).
   */
  #adoptOrTrust(): void {
    if (RULE_MAPS.every((name) => this.#life.isNewMap(name))) return;
    const maps = this.#maps();
    const summary = maps[MAP.summary].get(0);
    if (summary !== undefined && summary.version !== INVALID_SUMMARY.version) maps[MAP.summary].set(0, INVALID_SUMMARY);
    if (summaryHolds(summary, slotsSum(maps[MAP.rules].entries()), this.#ifindex)) {
      this.#trusted = { summary };
      return;
    }
    this.#adopt();
  }

  /**
   * Reads the maps back when seed trusted the summary: the trie state, and the rules of the apply
   * that found it matching, planned in full. What the background read-back (#readBackStep) has
   * not done yet is done now.
   */
  #ensureAdopted(): void {
    const trusted = this.#trusted;
    if (trusted === undefined) return;
    this.#trusted = undefined;
    const { tries, pending } = this.#readBack;
    if (pending !== undefined) clearImmediate(pending);
    this.#readBack = {};
    this.#adopt(tries);
    if (trusted.desired !== undefined) this.apply(trusted.desired);
  }

  /**
   * Starts the read-back of trusted maps in the background: the first change after a restart then
   * finds it done instead of waiting seconds for it. Each step (read the maps; adopt them and plan
   * the trusted rules) runs in a turn of its own, so the thread answers status and describe in between.
   */
  #scheduleReadBack(): void {
    if (this.#readBack.pending !== undefined) return;
    const pending = setImmediate(() => {
      this.#readBack.pending = undefined;
      try {
        if (this.#readBackStep()) this.#scheduleReadBack();
      } catch (err) {
        this.#onError(err);
      }
    });
    pending.unref();
    this.#readBack.pending = pending;
  }

  /** One step of the background read-back; true when another one follows. */
  #readBackStep(): boolean {
    if (this.#trusted === undefined || !this.#life.is('seeded')) return false;
    if (this.#readBack.tries === undefined) {
      this.#readBack.tries = readKernelTries(this.#maps());
      return true;
    }
    this.#ensureAdopted();
    return false;
  }

  /** Adopts what the rule maps hold (`tries`: as read back already, else read now). */
  #adopt(read?: ReturnType<typeof readKernelTries>): void {
    const maps = this.#maps();
    this.#summarizable = false;
    const { tries, misplaced } = read ?? readKernelTries(maps);
    const adoption = adoptTries(tries, this.#config.maxRules);
    maps[MAP.dst].deleteMany(misplaced);
    maps[MAP.src].deleteMany(adoption.straySrc);
    maps[MAP.port].deleteMany(adoption.strayPort);
    this.#trie = adoption.state;
  }

  /**
   * Opens the watch before the first read of the interfaces, so that no change after that read
   * goes unnoticed. Without it (it could not be opened) every apply reads them again, as it must.
   */
  #openWatch(): void {
    try {
      this.#watch ??= NetlinkChangeWatch.open(this.#config.netns === undefined ? {} : { netns: this.#config.netns });
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Marks the ifindexes and addresses for reading again when the netns's links or addresses may have changed. */
  #noticeChanges(): void {
    if (this.#watch === undefined || this.#watch.changed()) {
      this.#ifindexStale = true;
      this.#addressesStale = true;
    }
  }

  #resolveInterfaces(): void {
    const next = new Map<string, number>();
    for (const iface of this.#config.interfaces) {
      try {
        next.set(iface.name, ifIndex(iface.name, this.#config.netns));
      } catch (err) {
        if (!(err instanceof BpfError)) throw err;
        if (iface.optional) continue; // attached when it appears (#followInterfaces)
        throw new NotFoundError(`configured interface ${iface.name}: ${err.message} (an interface that may appear later: optional: true)`);
      }
    }
    this.#ifindexStale = false;
    if (sameEntries(next, this.#ifindex)) return; // the same object: what was derived from it stays valid
    this.#ifindex = next;
    this.#ifindexList = [...next.values()];
    this.#ifindexVersion = [...next].join(',');
  }

  #ensureStats(): void {
    if (this.#statsFor === this.#ifindex) return;
    const stats = this.#maps()[MAP.ifStats];
    const zero = Array.from({ length: stats.map.cpuSlots }, () => ({ passed: 0n, diverted: 0n, dropped: 0n, events_lost: 0n }));
    for (const ifindex of this.#ifindex.values()) if (!stats.has(ifindex)) stats.set(ifindex, zero, 'create');
    this.#statsFor = this.#ifindex;
  }

  /**
   * Runs tctp_egress and tctp_ingress on every configured interface (links pinned under
   * pinRoot/links, re-adopted and switched to this object's programs without a gap after a
   * restart), detaches the ones pinned for interfaces no longer configured, and starts the event
   * stream and the address refresh; with optional interfaces, the check of the links that attaches
   * them when they appear (#followInterfaces).
   */
  attach(): void {
    this.#life.expect('attach', 'seeded');
    this.#attachPresent();
    this.#detachStale();
    this.#attached = true;
    // an optional interface absent now is attached when it appears: the links are followed
    if (this.#config.interfaces.some((i) => i.optional) && this.#linkTimer === undefined) {
      this.#linkTimer = setInterval(() => {
        try {
          this.#followInterfaces();
        } catch (err) {
          this.#onError(err);
        }
      }, LINK_CHECK_MS);
      this.#linkTimer.unref();
    }
    this.#startEvents();
    // a safety net under the watch: the addresses are read again now and then whatever it says
    if (this.#refreshMs > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => {
        try {
          this.refreshAddresses();
        } catch (err) {
          this.#onError(err);
        }
      }, this.#refreshMs);
      this.#timer.unref();
    }
  }

  /**
   * Runs the programs on every configured interface present (links pinned under pinRoot/links:
   * re-adopted after a restart; replaced when the interface was made anew) and lets go of the links
   * of interfaces gone (optional ones: the link went with its device).
   */
  #attachPresent(): void {
    const { programs } = this.#life.skeleton;
    for (const iface of this.#config.interfaces) {
      const ifindex = this.#ifindex.get(iface.name);
      for (const direction of DIRECTIONS) {
        // the key is the pin's file name too: links/<direction>-<interface>
        const key = `${direction}-${iface.name}`;
        const held = this.#life.links.get(key);
        if (ifindex === undefined) {
          if (held !== undefined) this.#letGo(key, held);
          continue;
        }
        if (held !== undefined && this.#linked.get(key) === ifindex) continue;
        const program = programs[direction === 'ingress' ? PROGRAM.ingress : PROGRAM.egress];
        this.#life.attachLink(key, key, (pinPath) => attachTc(program, { ifname: iface.name, direction, netns: this.#config.netns, pinPath }));
        this.#linked.set(key, ifindex);
      }
    }
  }

  /** Releases the link of an interface that is gone (its device took the attachment with it) and its pin. */
  #letGo(key: string, link: Link): void {
    this.#life.links.delete(key);
    this.#linked.delete(key);
    try {
      link.detach();
    } catch {
      link.close();
      if (link.pinnedPath !== undefined) rmSync(link.pinnedPath, { force: true });
    }
  }

  /** Whether every configured interface present has its links, on its current ifindex, and no absent one has any. */
  #linksInStep(): boolean {
    for (const iface of this.#config.interfaces) {
      const ifindex = this.#ifindex.get(iface.name);
      for (const direction of DIRECTIONS) if (this.#linked.get(`${direction}-${iface.name}`) !== ifindex) return false;
    }
    return true;
  }

  /**
   * Reads the ifindexes again after a change of the netns's links, and follows the configured
   * interfaces that appear and go (optional ones) once the dataplane is attached: a new one gets its settings, counters and addresses, then the programs, then the rules
   * in force planned for it; a gone one loses its links and entries. `reapply` false: the caller
   * (apply) plans the rules itself.
   */
  #followInterfaces({ reapply = true } = {}): void {
    if (!this.#life.is('seeded')) return;
    this.#noticeChanges();
    if (this.#ifindexStale) this.#resolveInterfaces();
    if (!this.#attached) return; // before attach: the ifindexes only
    if (this.#linksInStep()) {
      if (this.#addressesStale) this.refreshAddresses(); // the watch said so: at once, not at the next apply
      return;
    }
    const before = new Map(this.#linked);
    this.#writeSettings(this.#overrides);
    this.refreshAddresses();
    this.#attachPresent();
    this.#dropStaleEntries();
    if (reapply) this.#reapplyInForce();
    for (const iface of this.#config.interfaces) {
      const key = `ingress-${iface.name}`;
      const ifindex = this.#linked.get(key);
      if (ifindex !== before.get(key)) this.#onInterface({ interface: iface.name, present: ifindex !== undefined, ...(ifindex !== undefined && { ifindex }) });
    }
  }

  /**
   * Plans the rules in force again (for the interfaces as they are now). Nothing to do while the
   * maps were not read back or no apply succeeded since an adoption: the next apply plans them all.
   */
  #reapplyInForce(): void {
    if (this.#trusted !== undefined) {
      if (this.#trusted.desired !== undefined) this.#ensureAdopted();
      return;
    }
    if (!this.#summarizable) return;
    const rules = this.#applied.filter((r): r is TproxyRule => r !== undefined).map((r) => r.intent);
    this.apply({ rules, interfaces: [...this.#overrides.values()] });
    this.#lastRules = undefined; // the agent's next change is planned against its whole list
  }

  /** Detaches links pinned for interfaces no longer configured and drops their interface entries. */
  #detachStale(): void {
    this.#life.detachPinnedLinksExcept((file) => this.#life.links.has(file));
    this.#dropStaleEntries();
  }

  /** Drops the interface entries (settings, counters) of ifindexes no configured interface has now. */
  #dropStaleEntries(): void {
    const configured = new Set(this.#ifindex.values());
    const maps = this.#maps();
    const staleFlags = [...this.#flags.keys()].filter((i) => !configured.has(i));
    maps[MAP.ifaces].deleteMany(staleFlags);
    for (const i of staleFlags) this.#flags.delete(i);
    maps[MAP.ifStats].deleteMany([...maps[MAP.ifStats].keys()].filter((i) => !configured.has(i)));
  }

  #startEvents(): void {
    if (this.#ring) return;
    const names = () => new Map([...this.#ifindex].map(([name, i]) => [i, name]));
    let byIndex = names();
    this.#ring = RingBuffer.open(
      this.#life.skeleton.object.map(MAP.events),
      (record) => {
        if (this.#listeners.size === 0) return;
        const event = decodeEvent(record, {
          interfaceName: (i) => byIndex.get(i) ?? (byIndex = names()).get(i) ?? String(i),
          clockOffsetNs: monotonicToWallOffsetNs(), // now, not at start: the wall clock may be stepped (NTP after boot)
        });
        if (event === undefined) return;
        for (const listener of this.#listeners) {
          try {
            listener(event);
          } catch (err) {
            this.#onError(err);
          }
        }
      },
      { onError: (err) => this.#onError(err) },
    );
    this.#ring.start();
  }

  /** Subscribes to decoded events (drops and diverts, as the interfaces' settings ask); returns the unsubscribe function. */
  onEvent(listener: (event: TproxyEvent) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('tc-tproxy: onEvent needs a function');
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Delivers the events waiting in the ring buffer now; returns how many records were read. */
  pollEvents(): number {
    return this.#ring?.consume() ?? 0;
  }

  /** Brings tctp_if_addrs in step with the configured interfaces' addresses. */
  refreshAddresses(): { added: number; removed: number } {
    if (!this.#life.is('loaded', 'seeded')) return { added: 0, removed: 0 };
    const desired: IfAddrKey[] = [];
    for (const [name, ifindex] of this.#ifindex) {
      try {
        desired.push(...addressKeys(ifindex, interfaceAddresses(name, this.#config.netns)));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err; // an interface that is gone has no addresses
      }
    }
    const synced = syncAddresses(this.#maps()[MAP.ifAddrs], this.#addrs, desired, MAX_IF_ADDRS);
    this.#addressesStale = false;
    return synced;
  }

  /**
   * A rule in the planner's form, with the ifindexes of its interfaces. An interface this plugin
   * does not attach is left out (the rule is kept, and applies there once it is attached:
   * describeRules says so); a rule naming only such interfaces applies nowhere for now.
   */
  #planRule(r: TproxyRule): PlanRule {
    let ifindexes: number[] | undefined;
    if (r.interfaces !== undefined) {
      ifindexes = [];
      for (const name of r.interfaces) {
        const i = this.#ifindex.get(name);
        if (i !== undefined) ifindexes.push(i);
      }
    }
    return new TproxyPlanRule(r, ifindexes);
  }

  /** Why a rule naming interfaces applies on fewer of them than it names, or undefined. */
  #interfaceProblem(intent: Intent): string | undefined {
    const names = (intent as { interfaces?: readonly string[] }).interfaces;
    if (names === undefined) return undefined;
    const missing = names.filter((name) => !this.#ifindex.has(name));
    if (missing.length === 0) return undefined;
    const applied = names.filter((name) => this.#ifindex.has(name));
    const where = `${applied.length ? `the rule applies on ${applied.join(', ')} only` : 'the rule applies nowhere'} until`;
    const optional = new Set(this.#config.interfaces.filter((c) => c.optional).map((c) => c.name));
    const absent = missing.filter((name) => optional.has(name));
    const other = missing.filter((name) => !optional.has(name));
    const s = (list: readonly string[]) => (list.length > 1 ? 's' : '');
    const problems: string[] = [];
    if (other.length) {
      const attached = [...this.#ifindex.keys()].join(', ') || 'none';
      problems.push(`interface${s(other)} ${other.join(', ')} not attached by this plugin (attached: ${attached}): ${where} ${other.length > 1 ? 'they are' : 'it is'} attached`);
    }
    if (absent.length) {
      problems.push(`interface${s(absent)} ${absent.join(', ')} not present (optional: attached when it appears): ${where} ${absent.length > 1 ? 'they appear' : 'it appears'}`);
    }
    return problems.join('; ');
  }

  /**
   * Converges the maps to the desired `tproxy.rule` and `tproxy.interface` intents (the complete
   * desired state). Everything is validated first: IntentRejectedError (nothing changed) for an
   * invalid rule, more rules than maxRules or than the tries hold. A rule naming an interface this
   * plugin does not attach is kept and applies there once it is (#planRule).
   *
   * `changes` (optional) says where the lists differ from those of the last successful apply (see
   * agent-kernel's DesiredChanges): then only the changed rules are checked and planned, so one
   * rule changed among 100,000 costs about as much as among 10. Without it, or when the change
   * cannot be planned alone (a rule listed twice, interfaces changed, after an adoption), the whole
   * rule set is compared.
   */
  apply(
    desired: { readonly rules: readonly Intent[]; readonly interfaces?: readonly Intent[] },
    changes?: { readonly rules?: RuleListChanges; readonly interfaces?: RuleListChanges },
  ): TproxyApplyResult {
    this.#life.expect('apply', 'seeded');
    const started = performance.now();
    if (desired === null || typeof desired !== 'object' || !Array.isArray(desired.rules)) {
      throw new InvalidArgumentError('tc-tproxy: apply expects { rules: Intent[], interfaces?: Intent[] }');
    }
    // 1. validate the whole desired state
    const names = this.#config.interfaces.map((i) => i.name);
    const overrides = interfaceOverrides(desired.interfaces ?? [], names);
    this.#followInterfaces({ reapply: false }); // the ifindexes read again after a change of the links
    let readBackMs: number | undefined;
    if (this.#trusted !== undefined) {
      if (this.#trusted.desired === undefined) {
        const trusted = this.#applyTrusted(desired, overrides, started);
        if (trusted !== undefined) return trusted;
        // other rules than the summary's: checked before the trust is given up (refused, they
        // change nothing and the maps stay trusted); planning below finds them normalised
        this.#checkCount(this.#normalizer.normalize(desired.rules, this.#version()).rules.length);
      }
      const readBack = performance.now();
      this.#ensureAdopted();
      readBackMs = performance.now() - readBack;
    }
    const maps = this.#maps();
    const limits = { dst: maps[MAP.dst].map.maxEntries, src: maps[MAP.src].map.maxEntries, port: maps[MAP.port].map.maxEntries };
    const planned = this.#planChange(desired.rules, changes, limits) ?? this.#planAll(desired.rules, limits);
    const planDone = performance.now();

    // planning updated the tracked state: from here on a failure re-reads what the maps hold
    let updated = 0;
    let written = 0;
    let deleted = 0;
    const { steps } = planned;
    try {
      // 2. interface settings
      updated += this.#writeSettings(overrides);

      // 3. the rules
      for (const step of steps) {
        executePlan(maps, step.plan);
        this.#trie = step.next;
        const size = planSize(step.plan);
        written += size.written;
        deleted += size.deleted;
      }
    } catch (err) {
      // a kernel write failed half-way: learn what the maps hold now, so the next apply diffs right
      this.#lastRules = undefined;
      this.#adopt();
      throw err;
    }
    planned.commit?.();
    this.#lastRules = desired.rules;
    this.#lastRulesLength = desired.rules.length;
    const wrote = performance.now();
    // a rule's change: as the last step saw it; a rule updated by the first of two steps counts as updated.
    // Only the rules the planner did not find as the very objects in force can have changed.
    const last = steps[steps.length - 1];
    const updatedFirst = new Set<string>();
    if (steps.length === 2) steps[0].rules.forEach((r, i) => steps[0].changes[i] === 'updated' && updatedFirst.add(r.identity));
    let added = 0;
    const applied = this.#applied;
    for (const i of planned.candidates) {
      const r = planned.ruleAt(i);
      const c = last.changes[i];
      const before = applied[last.ids[i]];
      if (c === 'added') added++;
      else if (c === 'updated' || updatedFirst.has(r.identity) || (before !== undefined && before !== r && !sameRuleContent(before, r))) updated++;
    }
    for (const step of steps) for (const id of step.plan.ruleClears) applied[id] = undefined;
    for (const i of planned.candidates) applied[last.ids[i]] = planned.ruleAt(i);
    this.#summarizable = true;
    const removed = steps.reduce((n, s) => n + s.removed, 0);
    if (this.#addressesStale) this.refreshAddresses();
    return {
      added,
      updated,
      removed,
      entries: { written, deleted },
      steps: steps.length,
      plan: planned.kind,
      ms: performance.now() - started,
      phases: { planMs: planDone - started, writeMs: wrote - planDone },
      ...(readBackMs !== undefined ? { readBackMs } : {}),
    };
  }

  /** Writes the interfaces' settings that differ from those in force; returns how many. */
  #writeSettings(overrides: Map<string, TproxyInterfaceIntent>): number {
    const flagWrites: Array<readonly [number, { flags: number }]> = [];
    for (const iface of this.#config.interfaces) {
      const ifindex = this.#ifindex.get(iface.name);
      if (ifindex === undefined) continue; // an optional interface not present
      const flags = interfaceFlags(effectiveSettings(iface, overrides.get(iface.name)));
      if (this.#flags.get(ifindex) !== flags) flagWrites.push([ifindex, { flags }]);
    }
    this.#maps()[MAP.ifaces].setMany(flagWrites);
    for (const [ifindex, v] of flagWrites) this.#flags.set(ifindex, v.flags);
    this.#overrides = overrides;
    this.#ensureStats();
    return flagWrites.length;
  }

  /**
   * The first apply after a seed that trusted the pinned summary: the whole desired state is
   * checked (IntentRejectedError as in any apply), and when its rules are exactly those the summary
   * was written for, nothing is compiled or written but the interface settings. Undefined when
   * they differ (then the maps are read back and the rules planned in full).
   */
  #applyTrusted(desired: Parameters<TproxyDataplane['apply']>[0], overrides: Map<string, TproxyInterfaceIntent>, started: number): TproxyApplyResult | undefined {
    const trusted = this.#trusted!;
    // the intents as given, none normalised (pinned-summary.ts); they are planned by the read-back
    if (!summaryMatchesIntents(trusted.summary, desired.rules, this.#ifindex)) return undefined;
    const planDone = performance.now();
    const updated = this.#writeSettings(overrides);
    // a copy: the caller may change its lists in place before the maps are read back (#ensureAdopted)
    trusted.desired = { rules: desired.rules.slice(), ...(desired.interfaces !== undefined ? { interfaces: desired.interfaces.slice() } : {}) };
    this.#scheduleReadBack();
    const wrote = performance.now();
    if (this.#addressesStale) this.refreshAddresses();
    return {
      added: 0,
      updated,
      removed: 0,
      entries: { written: 0, deleted: 0 },
      steps: 1,
      plan: 'summary',
      ms: performance.now() - started,
      phases: { planMs: planDone - started, writeMs: wrote - planDone },
    };
  }

  /**
   * The summary of the rule maps as this dataplane tracks them (see pinned-summary.ts); undefined
   * when it does not know them exactly (after an adoption until an apply succeeded, or when a rule
   * in force and its slot disagree).
   */
  #summary(): SummaryValue | undefined {
    if (this.#trusted !== undefined) return this.#trusted.summary; // nothing changed the rule maps since seed
    if (!this.#summarizable) return undefined;
    const trie = this.#trie;
    const rules: TproxyRule[] = [];
    const slots: Array<readonly [number, { action: number; tproxy_port_be: number; identity: bigint }]> = [];
    for (let id = 1; id < trie.slots.length; id++) {
      const slot = trie.slots.get(id);
      const rule = this.#applied[id];
      if ((slot === undefined) !== (rule === undefined)) return undefined;
      if (slot === undefined || rule === undefined) continue;
      rules.push(rule);
      slots.push([id, { action: slot.action, tproxy_port_be: slot.tproxyPort, identity: slot.identity }]);
    }
    for (let id = trie.slots.length; id < this.#applied.length; id++) if (this.#applied[id] !== undefined) return undefined;
    const host = this.#hostNodes();
    return makeSummary(rulesSum(rules), slotsSum(slots), this.#ifindex, {
      dst: trie.dstEntries - host,
      dstHost: host,
      src: trie.srcEntries,
      port: trie.portEntries,
    });
  }

  /**
   * The placed dst nodes of full-length prefixes (they live in tctp_dst_host), counted again only
   * when the tries changed since the last count: status() is asked every few ms by pollers, and a
   * count over 100,000 nodes at each one (~30 ms) kept the thread from other work.
   */
  #hostNodes(): number {
    const trie = this.#trie;
    const cached = this.#hostCount;
    if (cached !== undefined && cached.trie === trie && cached.epoch === trie.epoch) return cached.n;
    let n = 0;
    for (const node of placedNodes(trie)) if (isHostNode(node)) n++;
    this.#hostCount = { trie, epoch: trie.epoch, n };
    return n;
  }

  /** The whole rule set checked and planned (see apply). */
  #planAll(intents: readonly Intent[], limits: CompileLimits): PlannedRules {
    const { rules, derived: planRules } = this.#normalizer.normalize(intents, this.#version());
    this.#checkCount(rules.length);
    const steps = this.#capacityChecked(rules.length, () => planConvergence(this.#trie, { rules: planRules, ifindexes: this.#ifindexList, limits }));
    return {
      kind: 'all',
      steps,
      candidates: steps.length === 1 ? steps[0].touched : rules.map((_, i) => i),
      ruleAt: (i) => rules[i],
    };
  }

  /** Only the changed rules checked and planned, when the change allows it (undefined: plan all). */
  #planChange(intents: readonly Intent[], changes: Parameters<TproxyDataplane['apply']>[1], limits: CompileLimits): PlannedRules | undefined {
    const ruleChanges = changes?.rules;
    const ifaceChanges = changes?.interfaces;
    const previous = this.#lastRules;
    // its length then: a plugin thread changes the list in place (the same array, a new length)
    if (ruleChanges === undefined || previous === undefined || ruleChanges.before !== this.#lastRulesLength) return undefined;
    if (ifaceChanges !== undefined && ifaceChanges.positions.length > 0) return undefined; // settings change: rarely, plan all
    const normalized = this.#normalizer.normalizeChanged(intents, ruleChanges.positions, previous, this.#version());
    if (normalized === undefined) return undefined;
    this.#checkCount(intents.length);
    const positions = ruleChanges.positions;
    // by position (sparse for a few changes in a long list)
    const byPosition: TproxyRule[] = [];
    for (let k = 0; k < positions.length; k++) byPosition[positions[k]] = normalized.rules[k];
    let step: PlannedApply;
    try {
      const patch = { length: intents.length, positions, rules: normalized.derived, ifindexes: this.#ifindexList, limits };
      step = this.#capacityChecked(intents.length, () => planPatch(this.#trie, patch));
    } catch (err) {
      if (err instanceof PatchNotApplicable) return undefined;
      throw err;
    }
    return { kind: 'changes', steps: [step], candidates: step.touched, ruleAt: (i) => byPosition[i], commit: normalized.commit };
  }

  #version(): string {
    return this.#ifindexVersion;
  }

  #checkCount(rules: number): void {
    if (rules > this.#config.maxRules) {
      throw new IntentRejectedError(`${rules} tproxy rules exceed the capacity of ${this.#config.maxRules} (maxRules in the plugin config)`);
    }
  }

  /** Runs a planner; a rule set the tries cannot hold becomes IntentRejectedError. */
  #capacityChecked<T>(rules: number, plan: () => T): T {
    try {
      return plan();
    } catch (err) {
      if (err instanceof CompileCapacityError) {
        const remedy = err.peak ? 'change fewer rules at once, or raise maxRules' : 'raise maxRules';
        throw new IntentRejectedError(`the ${rules} tproxy rules do not fit: ${err.message}; ${remedy} (the tries are sized from it)`, { cause: err });
      }
      throw err;
    }
  }

  /** The applied rules with their ids and hit counters (summed over CPUs), by rule id. */
  describeRules(): { capacity: number; rules: RuleDescription[] } {
    this.#life.expect('describeRules', 'seeded');
    const counted = this.ruleCounters();
    const listeners = this.#divertListeners();
    const rules: RuleDescription[] = counted.map((r) => {
      const problem = this.#interfaceProblem(r.intent) ?? (listeners && divertProblem(r.intent, listeners));
      return { ...r, ...(problem && { problem }) };
    });
    return { capacity: this.#config.maxRules, rules };
  }

  /** The applied rules with their ids and hit counters (summed over CPUs), by rule id: describeRules without the checks. */
  ruleCounters(): Array<Pick<RuleDescription, 'intent' | 'id' | 'packets' | 'bytes'>> {
    this.#life.expect('ruleCounters', 'seeded');
    this.#ensureAdopted();
    const hits = readRuleHits(this.#maps());
    const rules: Array<Pick<RuleDescription, 'intent' | 'id' | 'packets' | 'bytes'>> = [];
    this.#applied.forEach((rule, id) => {
      if (rule === undefined) return;
      const h = hits.get(id);
      rules.push({ intent: rule.intent, id, packets: h?.packets ?? 0, bytes: h?.bytes ?? 0 });
    });
    return rules;
  }

  /** The listeners divert rules need (divert-listeners.ts); undefined when they cannot be read (the rules are then shown without). */
  #divertListeners(): DivertListeners | undefined {
    try {
      return readDivertListeners(this.#config.netns);
    } catch {
      return undefined;
    }
  }

  /** Every configured interface: its settings in force, attachment and counters (summed over CPUs). */
  describeInterfaces(): { interfaces: InterfaceDescription[] } {
    this.#life.expect('describeInterfaces', 'seeded');
    const stats = this.#maps()[MAP.ifStats];
    const interfaces = this.#config.interfaces.map((iface: TproxyInterfaceConfig) => {
      const ifindex = this.#ifindex.get(iface.name) ?? 0;
      const sum = { passed: 0n, diverted: 0n, dropped: 0n, events_lost: 0n };
      for (const s of (ifindex > 0 ? stats.get(ifindex) : undefined) ?? []) {
        sum.passed += s.passed;
        sum.diverted += s.diverted;
        sum.dropped += s.dropped;
        sum.events_lost += s.events_lost;
      }
      const link = this.#life.links.get(`ingress-${iface.name}`);
      return {
        name: iface.name,
        ifindex,
        attachment: link?.type ?? 'none',
        ...effectiveSettings(iface, this.#overrides.get(iface.name)),
        passed: Number(sum.passed),
        diverted: Number(sum.diverted),
        dropped: Number(sum.dropped),
        eventsLost: Number(sum.events_lost),
      };
    });
    return { interfaces };
  }

  status(): TproxyStatus {
    this.#life.expect('status', 'seeded');
    const maps = this.#maps();
    const trie = this.#trie;
    // trusted after a restart: the summary's counts (the tries were not read back)
    const known = this.#trusted?.summary;
    const hostNodes = known?.dst_host ?? this.#hostNodes();
    const ruleCount = known?.rules ?? trie.ruleCount;
    const counts: Record<string, number> = {
      [MAP.dst]: known?.dst ?? trie.dstEntries - hostNodes,
      [MAP.dstHost]: hostNodes,
      [MAP.src]: known?.src ?? trie.srcEntries,
      [MAP.port]: known?.port ?? trie.portEntries,
      [MAP.rules]: ruleCount,
      [MAP.ruleHits]: ruleCount,
      [MAP.ifaces]: this.#flags.size,
      [MAP.ifAddrs]: this.#addrs.size,
      [MAP.ifStats]: this.#ifindex.size,
    };
    const mapStatus: MapStatus[] = Object.entries(counts).map(([name, entries]) => ({
      name,
      entries,
      maxEntries: (maps as unknown as Record<string, { map: { maxEntries: number } }>)[name].map.maxEntries,
    }));
    const attachments = [...this.#life.links].map(([key, link]) => {
      const dash = key.indexOf('-');
      return {
        interface: key.slice(dash + 1),
        direction: key.slice(0, dash) as 'ingress' | 'egress',
        type: link.type,
        ...(link.pinnedPath ? { pinned: link.pinnedPath } : {}),
      };
    });
    return { attachments, maps: mapStatus, rules: ruleCount };
  }

  /**
   * Releases everything. With keepPinned the pinned links and maps stay in force (a restarted
   * dataplane re-adopts them); with discardNew too (a failed start) only those an earlier run
   * pinned: the maps this load pinned and the links it attached are removed. Without keepPinned the
   * programs are detached and every pin is removed. Idempotent.
   */
  close(options: ReleaseLinkOptions = { keepPinned: false }): void {
    if (options.keepPinned && this.#life.is('seeded') && (!options.discardNew || this.#trusted !== undefined)) {
      // the rule maps stay in force: say what they hold, so that the next start can trust them
      const summary = this.#summary();
      if (summary !== undefined) this.#maps()[MAP.summary].set(0, summary);
    }
    this.#life.close(options, () => {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = undefined;
      if (this.#linkTimer) clearInterval(this.#linkTimer);
      this.#linkTimer = undefined;
      if (this.#readBack.pending !== undefined) clearImmediate(this.#readBack.pending);
      this.#readBack = {};
      this.#listeners.clear();
      this.#watch?.close();
      this.#watch = undefined;
      const ring = this.#ring;
      this.#ring = undefined;
      ring?.close();
    });
  }
}

