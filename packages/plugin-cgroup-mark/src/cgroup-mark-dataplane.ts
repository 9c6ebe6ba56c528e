/**
 * The cgroup-mark dataplane: the cgroup_skb egress program of bpf/cgroup_mark.bpf.c on the mesh
 * proxy's cgroup(s), recording the proxy's marked connections in the mesh_bypass map that the
 * sk_lookup divert reads.
 *
 * Lifecycle: open (validate) -> load (mark as .rodata constants; maps reused from their pins) ->
 * attach(cgroups) (pinned links, re-adopted and switched to the new program on restart; links of
 * cgroups no longer wanted are detached) -> close({ keepPinned }). Stages, pins, links and close are
 * core-bpf's DataplaneLifecycle.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  DataplaneLifecycle,
  InvalidArgumentError,
  NotFoundError,
  attachCgroup,
  defineSkeleton,
  type Program,
  type ReleaseLinkOptions,
} from '@bpfsteer/core-bpf';
import { defaultObjectPath } from './bpf-object-path.js';
import { describeBypassEntry, type BypassEntry } from './bypass-entry.js';
import { CONSTANT, MAP, PROGRAM_NAME, bypassKeyCodec, bypassValueCodec, statsCodec, statsIndexCodec } from './map-codecs.js';
import { DEFAULT_MARK_PRESET, formatMark, resolveMark, type MarkMatch, type MarkSpec } from './mark-selector.js';
import { DEFAULT_BYPASS_ENTRIES, MAX_BYPASS_ENTRIES } from './bypass-limits.js';

export const cgroupMarkSkeleton = defineSkeleton({
  programs: [PROGRAM_NAME],
  maps: {
    [MAP.bypass]: { key: bypassKeyCodec, value: bypassValueCodec },
    [MAP.stats]: { key: statsIndexCodec, value: statsCodec, perCpu: true },
  },
});

export interface CgroupMarkDataplaneOptions {
  /** bpffs directory owned by this dataplane: maps under maps/, links under links/. Without it nothing is pinned. */
  readonly pinRoot?: string;
  /** which packets are the proxy's: a preset, "value/mask", or { value, mask }; default 'ambient-inpod' (0x539/0xfff) */
  readonly mark?: MarkSpec;
  /** record only SYNs leaving through loopback (connections to local addresses); default true */
  readonly localOnly?: boolean;
  /** capacity of the mesh_bypass LRU map (default 65536); a map shared with plugin-sklookup must have the same */
  readonly bypassEntries?: number;
  /** where mesh_bypass is pinned (reused when present); default <pinRoot>/maps/mesh_bypass */
  readonly bypassMapPin?: string;
  /** compiled object; default: bpf/cgroup_mark.bpf.o shipped in this package */
  readonly objectPath?: string;
}

export interface CgroupMarkStats {
  readonly markedSyns: number;
  readonly recorded: number;
  readonly notLocal: number;
  readonly recordFailed: number;
}

export interface CgroupAttachmentStatus {
  readonly cgroup: string;
  readonly type: string;
  readonly pinned?: string;
}

export interface CgroupMarkDataplaneStatus {
  readonly mark: string;
  readonly localOnly: boolean;
  readonly attachments: readonly CgroupAttachmentStatus[];
  readonly maps: readonly { readonly name: string; readonly entries: number; readonly maxEntries: number; readonly pinned?: string }[];
  readonly stats: CgroupMarkStats;
}

interface ValidOptions {
  readonly mark: MarkMatch;
  readonly localOnly: boolean;
  readonly bypassEntries: number;
  readonly bypassMapPin?: string;
}

function validateOptions(options: CgroupMarkDataplaneOptions): ValidOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('cgroup-mark: options must be an object { pinRoot?, mark?, localOnly?, bypassEntries?, bypassMapPin?, objectPath? }');
  }
  if (options.bypassMapPin !== undefined && (typeof options.bypassMapPin !== 'string' || !options.bypassMapPin.startsWith('/'))) {
    throw new InvalidArgumentError(`cgroup-mark: bypassMapPin must be an absolute path on bpffs, got ${JSON.stringify(options.bypassMapPin)}`);
  }
  const bypassEntries = options.bypassEntries ?? DEFAULT_BYPASS_ENTRIES;
  if (!Number.isInteger(bypassEntries) || bypassEntries < 1 || bypassEntries > MAX_BYPASS_ENTRIES) {
    throw new InvalidArgumentError(`cgroup-mark: bypassEntries must be an integer 1..${MAX_BYPASS_ENTRIES}, got ${JSON.stringify(options.bypassEntries)}`);
  }
  if (options.localOnly !== undefined && typeof options.localOnly !== 'boolean') {
    throw new InvalidArgumentError(`cgroup-mark: localOnly must be a boolean, got ${JSON.stringify(options.localOnly)}`);
  }
  const bypassMapPin = options.bypassMapPin ?? (typeof options.pinRoot === 'string' ? join(options.pinRoot, 'maps', MAP.bypass) : undefined);
  return {
    ...(bypassMapPin !== undefined ? { bypassMapPin } : {}),
    mark: resolveMark(options.mark ?? DEFAULT_MARK_PRESET),
    localOnly: options.localOnly ?? true,
    bypassEntries,
  };
}

const LINK_PREFIX = 'egress-';

export class CgroupMarkDataplane {
  readonly #opts: ValidOptions;
  /** its links are kept by absolute cgroup path */
  readonly #life: DataplaneLifecycle<typeof cgroupMarkSkeleton>;

  private constructor(options: CgroupMarkDataplaneOptions) {
    this.#opts = validateOptions(options);
    const { pinRoot, objectPath = defaultObjectPath() } = options;
    this.#life = new DataplaneLifecycle({ name: 'cgroup-mark', objectPath, skeleton: cgroupMarkSkeleton, pinRoot });
  }

  /** Checks the options (mark, sizes, object file); nothing touches the kernel yet. */
  static open(options: CgroupMarkDataplaneOptions = {}): CgroupMarkDataplane {
    return new CgroupMarkDataplane(options);
  }

  get mark(): MarkMatch {
    return this.#opts.mark;
  }

  get bypassMapPin(): string | undefined {
    return this.#opts.bypassMapPin;
  }

  /** Loads the program with the mark as constants, reusing the pinned maps (mesh_bypass possibly shared). */
  load(): void {
    this.#life.load({
      // the mesh_bypass pin (possibly outside pinRoot) is this dataplane's: a plain close removes it
      maps: { [MAP.bypass]: { maxEntries: this.#opts.bypassEntries, ...(this.#opts.bypassMapPin ? { pinPath: this.#opts.bypassMapPin } : {}) }, [MAP.stats]: {} },
      constants: {
        [CONSTANT.markValue]: this.#opts.mark.value,
        [CONSTANT.markMask]: this.#opts.mark.mask,
        [CONSTANT.localOnly]: this.#opts.localOnly ? 1 : 0,
      },
      incompatibleHint: 'a mesh_bypass map shared with plugin-sklookup must have the same bypassEntries in both',
    });
  }

  get program(): Program {
    return this.#skeleton('program').programs[PROGRAM_NAME];
  }

  /**
   * Runs the program on the egress of each cgroup in `cgroups` (absolute paths inside the cgroup2
   * hierarchy); links pinned by earlier runs are re-adopted and switched to this program without a
   * gap, and pinned links of cgroups not listed are detached.
   */
  attach(cgroups: readonly string[]): CgroupAttachmentStatus[] {
    const skel = this.#skeleton('attach');
    if (!Array.isArray(cgroups) || cgroups.some((c) => typeof c !== 'string' || !c.startsWith('/'))) {
      throw new InvalidArgumentError(`cgroup-mark: attach expects absolute cgroup directories, got ${JSON.stringify(cgroups)}`);
    }
    const wanted = new Set(cgroups);
    const ids = new Map<string, bigint>();
    for (const cg of wanted) {
      if (!existsSync(join(cg, 'cgroup.procs'))) throw new NotFoundError(`cgroup ${cg}`);
      ids.set(cg, statSync(cg, { bigint: true }).ino);
    }
    const links = this.#life.links;
    for (const cg of wanted) {
      if (links.has(cg)) continue;
      this.#life.attachLink(cg, pinFile(ids.get(cg) as bigint), (pinPath) =>
        attachCgroup(skel.programs[PROGRAM_NAME], { cgroup: cg, attachType: 'cgroup_skb-egress', ...(pinPath ? { pinPath } : {}) }),
      );
    }
    for (const [cg, link] of [...links]) {
      if (wanted.has(cg)) continue;
      link.detach();
      links.delete(cg);
    }
    const keepPins = new Set([...ids.values()].map(pinFile));
    this.#life.detachPinnedLinksExcept((file) => keepPins.has(file));
    return this.attachments();
  }

  attachments(): CgroupAttachmentStatus[] {
    return [...this.#life.links].map(([cgroup, link]) => ({ cgroup, type: link.type, ...(link.pinnedPath ? { pinned: link.pinnedPath } : {}) }));
  }

  /** The program's counters, summed over CPUs. */
  stats(): CgroupMarkStats {
    const perCpu = this.#skeleton('stats').maps[MAP.stats].get(0) ?? [];
    const sum = (f: keyof (typeof perCpu)[number]) => Number(perCpu.reduce((n, s) => n + s[f], 0n));
    return { markedSyns: sum('marked_syns'), recorded: sum('recorded'), notLocal: sum('not_local'), recordFailed: sum('record_failed') };
  }

  /** What mesh_bypass holds (the most recent first). */
  bypassEntries(): BypassEntry[] {
    const now = process.hrtime.bigint();
    const out: BypassEntry[] = [];
    for (const [key, value] of this.#skeleton('bypassEntries').maps[MAP.bypass].entries()) out.push(describeBypassEntry({ key, value }, now));
    return out.sort((a, b) => a.ageMs - b.ageMs);
  }

  status(): CgroupMarkDataplaneStatus {
    const skel = this.#skeleton('status');
    const bypass = skel.maps[MAP.bypass];
    return {
      mark: formatMark(this.#opts.mark),
      localOnly: this.#opts.localOnly,
      attachments: this.attachments(),
      maps: [
        { name: MAP.bypass, entries: bypass.count(), maxEntries: bypass.map.maxEntries, ...(this.#opts.bypassMapPin ? { pinned: this.#opts.bypassMapPin } : {}) },
        { name: MAP.stats, entries: 1, maxEntries: 1 },
      ],
      stats: this.stats(),
    };
  }

  /**
   * Releases everything. With keepPinned the links stay attached and the maps pinned (a restarted
   * dataplane re-adopts them); with discardNew too (a failed start) only those an earlier run
   * pinned: the maps this load pinned and the links it attached are removed. Without keepPinned the
   * links are detached and the pins removed (the mesh_bypass pin too: a sk_lookup program sharing
   * it keeps its own reference). Idempotent.
   */
  close(options: ReleaseLinkOptions = { keepPinned: false }): void {
    this.#life.close(options);
  }

  /** The skeleton, for an operation allowed once loaded (attach may run again, to change the cgroups). */
  #skeleton(op: string) {
    this.#life.expect(op, 'loaded');
    return this.#life.skeleton;
  }
}

/** A link's pin under pinRoot/links: egress-<cgroup id>. */
function pinFile(cgroupId: bigint): string {
  return `${LINK_PREFIX}${cgroupId}`;
}

