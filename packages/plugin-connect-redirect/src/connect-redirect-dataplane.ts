/**
 * The connect-redirect dataplane: the programs of bpf/connect_redirect.bpf.c on the client cgroups
 * (connect4, connect6, sockops) and on the proxy cgroups (getsockopt), the rule trie, the target
 * listeners and the bypass in cr_config.
 *
 * Lifecycle: open (validate) -> load (maps reused from their pins) -> seed (the rules an earlier
 * run left are kept until the first apply) -> configure(target, bypass) -> attach(cgroups,
 * proxyCgroups) (pinned links, re-adopted and switched to the new program on restart; those of
 * cgroups no longer wanted are detached) -> setRules(...)* -> close({ keepPinned }).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CgroupAttachType,
  DataplaneLifecycle,
  InvalidArgumentError,
  NotFoundError,
  attachCgroup,
  cgroup2Root,
  cgroupId,
  defineSkeleton,
  type ReleaseLinkOptions,
  resolveCgroupPath,
} from '@bpfsteer/core-bpf';
import { toMappedIpv6, tryParseIp, unmapIpv4 } from '@bpfsteer/ip';
import { defaultObjectPath } from './bpf-object-path.js';
import { compileRules, type ConnectRuleSpec, type TrieEntry } from './compile-rules.js';
import { MAX_RANGES_PER_PREFIX } from './connect-redirect-limits.js';
import type { Endpoint } from './endpoint.js';
import {
  MAP,
  PROGRAM,
  configCodec,
  connKeyCodec,
  indexCodec,
  origdstCodec,
  ruleKeyCodec,
  ruleStatsCodec,
  ruleValueCodec,
  statsCodec,
} from './map-codecs.js';

export const connectRedirectSkeleton = defineSkeleton({
  programs: [PROGRAM.connect4, PROGRAM.connect6, PROGRAM.sockops, PROGRAM.getsockopt],
  maps: {
    [MAP.rules]: { key: ruleKeyCodec, value: ruleValueCodec },
    [MAP.config]: { key: indexCodec, value: configCodec },
    [MAP.origdst]: { key: connKeyCodec, value: origdstCodec },
    [MAP.stats]: { key: indexCodec, value: statsCodec, perCpu: true },
    [MAP.ruleStats]: { key: indexCodec, value: ruleStatsCodec, perCpu: true },
  },
});

export interface ConnectRedirectDataplaneOptions {
  /** bpffs directory owned by this dataplane: maps under maps/, links under links/. Without it nothing is pinned. */
  readonly pinRoot?: string;
  /** compiled object; default: bpf/connect_redirect.bpf.o shipped in this package */
  readonly objectPath?: string;
}

export interface RedirectTarget {
  /** the IPv4 listener; absent: IPv4 connects are not redirected */
  readonly ipv4?: Endpoint;
  readonly ipv6?: Endpoint;
}

export interface Bypass {
  readonly mark?: { readonly value: number; readonly mask: number };
  /** absolute cgroup directory of the tunnel */
  readonly cgroup?: string;
}

export interface ConnectRedirectStats {
  readonly connects: number;
  readonly redirected: number;
  readonly direct: number;
  readonly bypassed: number;
  readonly noStorage: number;
  readonly recorded: number;
  readonly recordFailed: number;
  readonly origdstAnswered: number;
  readonly origdstUnknown: number;
}

export interface AttachmentStatus {
  readonly cgroup: string;
  readonly type: string;
  readonly pinned?: string;
}

export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
}

/** What each attach point is for: the client cgroups get three programs, the proxy cgroups one. */
const CLIENT_ATTACH: readonly [CgroupAttachType, (typeof PROGRAM)[keyof typeof PROGRAM]][] = [
  ['connect4', PROGRAM.connect4],
  ['connect6', PROGRAM.connect6],
  ['sockops', PROGRAM.sockops],
];
const PROXY_ATTACH: readonly [CgroupAttachType, (typeof PROGRAM)[keyof typeof PROGRAM]][] = [['getsockopt', PROGRAM.getsockopt]];

const emptyRange = { port_lo: 0, port_hi: 0, rule: 0, action: 0, pad: 0 };
const ruleKeyText = (prefixlen: number, address: string) => `${address}/${prefixlen}`;

export class ConnectRedirectDataplane {
  /** links by "<attach type> <cgroup>" */
  readonly #life: DataplaneLifecycle<typeof connectRedirectSkeleton>;
  #rules = 0;

  private constructor(options: ConnectRedirectDataplaneOptions) {
    const { pinRoot, objectPath = defaultObjectPath() } = options;
    this.#life = new DataplaneLifecycle({ name: 'connect-redirect', objectPath, skeleton: connectRedirectSkeleton, pinRoot });
  }

  /** Checks the options; nothing touches the kernel yet. */
  static open(options: ConnectRedirectDataplaneOptions = {}): ConnectRedirectDataplane {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('connect-redirect: options must be an object { pinRoot?, objectPath? }');
    }
    return new ConnectRedirectDataplane(options);
  }

  /** Loads the programs, reusing the pinned maps (rules, config, original destinations, counters). */
  load(): void {
    this.#life.load({
      maps: { [MAP.rules]: {}, [MAP.config]: {}, [MAP.origdst]: { transient: true }, [MAP.stats]: {}, [MAP.ruleStats]: {} },
      incompatibleHint: 'maps pinned by another version of bpf/connect_redirect.bpf.c',
    });
  }

  /** Keeps the rules an earlier run left in the pinned trie until the first setRules. */
  seed(): number {
    this.#life.expect('seed', 'loaded');
    this.#rules = this.#life.skeleton.maps[MAP.rules].count();
    this.#life.advance('seeded');
    return this.#rules;
  }

  /** Writes the target listeners and the bypass (cr_config). */
  configure(target: RedirectTarget, bypass: Bypass = {}): void {
    const skel = this.#skeleton('configure', 'seeded', 'attached');
    const v6 = target.ipv6 ? toMappedIpv6(target.ipv6.address).text : '::';
    skel.maps[MAP.config].set(0, {
      target4_be: target.ipv4 ? target.ipv4.address.text : '0.0.0.0',
      target6_be: v6,
      target4_port_be: target.ipv4?.port ?? 0,
      target6_port_be: target.ipv6?.port ?? 0,
      bypass_mark: bypass.mark ? bypass.mark.value & bypass.mark.mask : 0,
      bypass_mark_mask: bypass.mark?.mask ?? 0,
      bypass_cgroup_id: bypass.cgroup ? cgroupId(bypass.cgroup) : 0n,
    });
  }

  /**
   * Runs the client programs on each of `cgroups` and getsockopt on each of `proxyCgroups`
   * (paths relative to the cgroup2 root or absolute inside it); links pinned by earlier runs are
   * re-adopted and switched to these programs without a gap, and pinned links of cgroups not listed
   * are detached.
   */
  attach(cgroups: readonly string[], proxyCgroups: readonly string[] = []): AttachmentStatus[] {
    const skel = this.#skeleton('attach', 'seeded', 'attached');
    const root = cgroup2Root();
    const wanted = new Map<string, { cgroup: string; type: CgroupAttachType; program: (typeof PROGRAM)[keyof typeof PROGRAM]; file: string }>();
    const plan = (paths: readonly string[], points: typeof CLIENT_ATTACH) => {
      for (const p of paths) {
        const cgroup = resolveCgroupPath(p, root);
        if (!existsSync(join(cgroup, 'cgroup.procs'))) throw new NotFoundError(`cgroup ${cgroup}`);
        const id = cgroupId(cgroup);
        for (const [type, program] of points) wanted.set(`${type} ${cgroup}`, { cgroup, type, program, file: `${type}-${id}` });
      }
    };
    plan(cgroups, CLIENT_ATTACH);
    plan(proxyCgroups, PROXY_ATTACH);
    const links = this.#life.links;
    for (const [key, w] of wanted) {
      if (links.has(key)) continue;
      this.#life.attachLink(key, w.file, (pinPath) =>
        attachCgroup(skel.programs[w.program], { cgroup: w.cgroup, attachType: w.type, ...(pinPath ? { pinPath } : {}) }),
      );
    }
    for (const [key, link] of [...links]) {
      if (wanted.has(key)) continue;
      link.detach();
      links.delete(key);
    }
    const keep = new Set([...wanted.values()].map((w) => w.file));
    this.#life.detachPinnedLinksExcept((file) => keep.has(file));
    if (this.#life.stage !== 'attached') this.#life.advance('attached');
    return this.attachments();
  }

  attachments(): AttachmentStatus[] {
    return [...this.#life.links].map(([key, link]) => ({
      cgroup: key.slice(key.indexOf(' ') + 1),
      type: link.type,
      ...(link.pinnedPath ? { pinned: link.pinnedPath } : {}),
    }));
  }

  /** Makes the trie hold exactly the rules of `specs` (IntentRejectedError, nothing changed, when one is bad). */
  setRules(specs: readonly ConnectRuleSpec[]): { added: number; updated: number; removed: number } {
    const skel = this.#skeleton('setRules', 'seeded', 'attached');
    const entries = compileRules(specs);
    const r = skel.maps[MAP.rules].reconcile([...entries.values()].map((e) => [{ prefixlen: e.prefixlen, addr_be: e.address }, ruleValue(e)] as const));
    this.#rules = entries.size;
    return { added: r.added, updated: r.changed, removed: r.removed };
  }

  /** The trie's entries (for status and tests), by "<address>/<prefixlen>". */
  trie(): Map<string, TrieEntry> {
    const out = new Map<string, TrieEntry>();
    for (const [key, value] of this.#skeleton('trie', 'seeded', 'attached').maps[MAP.rules].entries()) {
      const ranges = value.ranges.slice(0, value.count).map((r) => ({ portLo: r.port_lo, portHi: r.port_hi, rule: r.rule, action: r.action as 0 | 1 }));
      out.set(ruleKeyText(key.prefixlen, key.addr_be), { prefixlen: key.prefixlen, address: key.addr_be, ranges });
    }
    return out;
  }

  /**
   * The original destination of the redirected connection whose client is `address`:`port` (the
   * peer of the socket the proxy accepted), for a proxy where the getsockopt hook is not attached.
   */
  originalDestination(address: string, port: number): OriginalDestination | undefined {
    const parsed = tryParseIp(address, { what: 'peer address' });
    if (!parsed.ok) throw new InvalidArgumentError(parsed.error.message);
    const found = this.#skeleton('originalDestination', 'seeded', 'attached').maps[MAP.origdst].get({
      addr_be: toMappedIpv6(parsed.value).text,
      port_be: port,
      pad: 0,
    });
    if (!found) return undefined;
    const original = tryParseIp(found.addr_be);
    return { address: original.ok ? unmapIpv4(original.value).text : found.addr_be, port: found.port_be };
  }

  /** The programs' counters, summed over CPUs. */
  stats(): ConnectRedirectStats {
    const perCpu = this.#skeleton('stats', 'seeded', 'attached').maps[MAP.stats].get(0) ?? [];
    const sum = (f: keyof (typeof perCpu)[number]) => Number(perCpu.reduce((n, s) => n + s[f], 0n));
    return {
      connects: sum('connects'),
      redirected: sum('redirected'),
      direct: sum('direct'),
      bypassed: sum('bypassed'),
      noStorage: sum('no_storage'),
      recorded: sum('recorded'),
      recordFailed: sum('record_failed'),
      origdstAnswered: sum('origdst_answered'),
      origdstUnknown: sum('origdst_unknown'),
    };
  }

  /** Connects each rule (by intent position) redirected and let go direct. */
  ruleStats(rules: number): { redirected: number; direct: number }[] {
    const map = this.#skeleton('ruleStats', 'seeded', 'attached').maps[MAP.ruleStats];
    return Array.from({ length: rules }, (_, i) => {
      const perCpu = map.get(i) ?? [];
      return { redirected: Number(perCpu.reduce((n, s) => n + s.redirected, 0n)), direct: Number(perCpu.reduce((n, s) => n + s.direct, 0n)) };
    });
  }

  status() {
    const skel = this.#skeleton('status', 'seeded', 'attached');
    return {
      attachments: this.attachments(),
      maps: [
        { name: MAP.rules, entries: this.#rules, maxEntries: skel.maps[MAP.rules].map.maxEntries },
        { name: MAP.origdst, entries: skel.maps[MAP.origdst].count(), maxEntries: skel.maps[MAP.origdst].map.maxEntries },
      ],
      stats: this.stats(),
    };
  }

  /**
   * Releases everything. With keepPinned the links stay attached and the maps pinned (a restarted
   * dataplane re-adopts them: connects go on being redirected meanwhile); with discardNew too (a
   * failed start) only what an earlier run pinned. Without keepPinned the links are detached and
   * the pins removed. Idempotent.
   */
  close(options: ReleaseLinkOptions = { keepPinned: false }): void {
    this.#life.close(options);
  }

  #skeleton(op: string, ...stages: ('loaded' | 'seeded' | 'attached')[]) {
    this.#life.expect(op, ...stages);
    return this.#life.skeleton;
  }
}

function ruleValue(e: TrieEntry) {
  const ranges: { port_lo: number; port_hi: number; rule: number; action: number; pad: number }[] = e.ranges.map((r) => ({
    port_lo: r.portLo,
    port_hi: r.portHi,
    rule: r.rule,
    action: r.action,
    pad: 0,
  }));
  while (ranges.length < MAX_RANGES_PER_PREFIX) ranges.push(emptyRange);
  return { count: e.ranges.length, ranges };
}


