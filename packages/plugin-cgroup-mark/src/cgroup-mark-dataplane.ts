/**
 * The cgroup-mark dataplane: the cgroup_skb egress program of bpf/cgroup_mark.bpf.c on the mesh
 * proxy's cgroup(s), recording the proxy's marked connections in the mesh_bypass map that the
 * sk_lookup divert reads.
 *
 * Lifecycle: open (validate) -> load (mark as .rodata constants; maps reused from their pins) ->
 * attach(cgroups) (pinned links, re-adopted and switched to the new program on restart; links of
 * cgroups no longer wanted are detached) -> close({ keepPinned }).
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  InvalidArgumentError,
  NotFoundError,
  PinIncompatibleError,
  attachCgroup,
  defineSkeleton,
  loadSkeleton,
  openPinnedLink,
  removePin,
  type Link,
  type Program,
  type Skeleton,
  removeEmptyPinDir,
  releaseLink,
  type ReleaseLinkOptions,
} from '@bpfsteer/core-bpf';
import { defaultObjectPath } from './bpf-object-path.js';
import { describeBypassEntry, type BypassEntry } from './bypass-entry.js';
import { CONSTANT, MAP, PROGRAM_NAME, bypassKeyCodec, bypassValueCodec, statsCodec, statsIndexCodec } from './map-codecs.js';
import { DEFAULT_MARK_PRESET, formatMark, resolveMark, type MarkMatch, type MarkSpec } from './mark-selector.js';

export const DEFAULT_BYPASS_ENTRIES = 65536;
export const MAX_BYPASS_ENTRIES = 1 << 22;

export const cgroupMarkSkeleton = defineSkeleton({
  programs: [PROGRAM_NAME],
  maps: {
    [MAP.bypass]: { key: bypassKeyCodec, value: bypassValueCodec },
    [MAP.stats]: { key: statsIndexCodec, value: statsCodec, perCpu: true },
  },
});

type CgroupMarkSkeleton = Skeleton<typeof PROGRAM_NAME, (typeof cgroupMarkSkeleton)['maps']>;

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

type State = 'opened' | 'loaded' | 'closed';

interface ValidOptions {
  readonly pinRoot?: string;
  readonly mark: MarkMatch;
  readonly localOnly: boolean;
  readonly bypassEntries: number;
  readonly bypassMapPin?: string;
  readonly objectPath: string;
}

function validateOptions(options: CgroupMarkDataplaneOptions): ValidOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('cgroup-mark: options must be an object { pinRoot?, mark?, localOnly?, bypassEntries?, bypassMapPin?, objectPath? }');
  }
  for (const [name, value] of [['pinRoot', options.pinRoot], ['bypassMapPin', options.bypassMapPin]] as const) {
    if (value !== undefined && (typeof value !== 'string' || !value.startsWith('/'))) {
      throw new InvalidArgumentError(`cgroup-mark: ${name} must be an absolute path on bpffs, got ${JSON.stringify(value)}`);
    }
  }
  const bypassEntries = options.bypassEntries ?? DEFAULT_BYPASS_ENTRIES;
  if (!Number.isInteger(bypassEntries) || bypassEntries < 1 || bypassEntries > MAX_BYPASS_ENTRIES) {
    throw new InvalidArgumentError(`cgroup-mark: bypassEntries must be an integer 1..${MAX_BYPASS_ENTRIES}, got ${JSON.stringify(options.bypassEntries)}`);
  }
  if (options.localOnly !== undefined && typeof options.localOnly !== 'boolean') {
    throw new InvalidArgumentError(`cgroup-mark: localOnly must be a boolean, got ${JSON.stringify(options.localOnly)}`);
  }
  const objectPath = options.objectPath ?? defaultObjectPath();
  if (!existsSync(objectPath)) {
    throw new NotFoundError(`cgroup-mark BPF object ${objectPath} (build it with \`make -C bpf\` and the package build, which copies it)`);
  }
  const bypassMapPin = options.bypassMapPin ?? (options.pinRoot === undefined ? undefined : join(options.pinRoot, 'maps', MAP.bypass));
  return {
    ...(options.pinRoot !== undefined ? { pinRoot: options.pinRoot } : {}),
    ...(bypassMapPin !== undefined ? { bypassMapPin } : {}),
    mark: resolveMark(options.mark ?? DEFAULT_MARK_PRESET),
    localOnly: options.localOnly ?? true,
    bypassEntries,
    objectPath,
  };
}

const LINK_PREFIX = 'egress-';

export class CgroupMarkDataplane {
  readonly #opts: ValidOptions;
  #state: State = 'opened';
  #skel: CgroupMarkSkeleton | undefined;
  /** attached links by absolute cgroup path */
  readonly #links = new Map<string, Link>();

  private constructor(opts: ValidOptions) {
    this.#opts = opts;
  }

  /** Checks the options (mark, sizes, object file); nothing touches the kernel yet. */
  static open(options: CgroupMarkDataplaneOptions = {}): CgroupMarkDataplane {
    return new CgroupMarkDataplane(validateOptions(options));
  }

  get mark(): MarkMatch {
    return this.#opts.mark;
  }

  get bypassMapPin(): string | undefined {
    return this.#opts.bypassMapPin;
  }

  #dir(sub: 'maps' | 'links'): string | undefined {
    return this.#opts.pinRoot === undefined ? undefined : join(this.#opts.pinRoot, sub);
  }

  /** Loads the program with the mark as constants, reusing the pinned maps (mesh_bypass possibly shared). */
  load(): void {
    this.#expect('opened', 'load');
    const mapsDir = this.#dir('maps');
    const maps: Record<string, { maxEntries?: number; pinPath?: string }> = {
      [MAP.bypass]: { maxEntries: this.#opts.bypassEntries, ...(this.#opts.bypassMapPin ? { pinPath: this.#opts.bypassMapPin } : {}) },
      [MAP.stats]: mapsDir ? { pinPath: join(mapsDir, MAP.stats) } : {},
    };
    try {
      this.#skel = loadSkeleton(this.#opts.objectPath, cgroupMarkSkeleton, {
        maps,
        constants: {
          [CONSTANT.markValue]: this.#opts.mark.value,
          [CONSTANT.markMask]: this.#opts.mark.mask,
          [CONSTANT.localOnly]: this.#opts.localOnly ? 1 : 0,
        },
      });
    } catch (err) {
      if (err instanceof PinIncompatibleError) {
        throw new PinIncompatibleError(
          err.path,
          `${err.message.replace(/^pinned object \S+ is incompatible: /, '')} (a mesh_bypass map shared with plugin-sklookup must have the ` +
            `same bypassEntries in both; or stop the old dataplane without keepPinned)`,
        );
      }
      throw err;
    }
    this.#state = 'loaded';
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
    for (const cg of wanted) {
      if (this.#links.has(cg)) continue;
      const pinPath = this.#linkPin(ids.get(cg) as bigint);
      if (pinPath) mkdirSync(dirname(pinPath), { recursive: true });
      const link = attachCgroup(skel.programs[PROGRAM_NAME], { cgroup: cg, attachType: 'cgroup_skb-egress', ...(pinPath ? { pinPath } : {}) });
      this.#links.set(cg, link);
    }
    for (const [cg, link] of [...this.#links]) {
      if (wanted.has(cg)) continue;
      link.detach();
      this.#links.delete(cg);
    }
    const keepPins = new Set([...ids.values()].map((id) => `${LINK_PREFIX}${id}`));
    const dir = this.#dir('links');
    if (dir && existsSync(dir)) {
      for (const file of readdirSync(dir)) if (!keepPins.has(file)) detachPin(join(dir, file));
    }
    return this.attachments();
  }

  attachments(): CgroupAttachmentStatus[] {
    return [...this.#links].map(([cgroup, link]) => ({ cgroup, type: link.type, ...(link.pinnedPath ? { pinned: link.pinnedPath } : {}) }));
  }

  #linkPin(cgroupId: bigint): string | undefined {
    const dir = this.#dir('links');
    return dir === undefined ? undefined : join(dir, `${LINK_PREFIX}${cgroupId}`);
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
    if (this.#state === 'closed') return;
    const errors: unknown[] = [];
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const link of this.#links.values()) attempt(() => releaseLink(link, options));
    this.#links.clear();
    if (!options.keepPinned && this.#state === 'loaded') attempt(() => this.#removePins());
    if (options.keepPinned && options.discardNew) attempt(() => this.#removeNewPins());
    attempt(() => this.#skel?.close());
    this.#skel = undefined;
    this.#state = 'closed';
    if (errors.length > 0) throw errors.length === 1 ? errors[0] : new AggregateError(errors, `cgroup-mark: close: ${errors.length} errors`);
  }

  /** After a failed start: the pins this load created go, the directories left empty too. */
  #removeNewPins(): void {
    const links = this.#dir('links');
    if (links) removeEmptyPinDir(links);
    this.#skel?.object.removeNewPins();
    if (this.#opts.pinRoot) removeEmptyPinDir(this.#opts.pinRoot);
  }

  #removePins(): void {
    const links = this.#dir('links');
    if (links && existsSync(links)) {
      for (const file of readdirSync(links)) detachPin(join(links, file));
      removeEmptyPinDir(links);
    }
    if (this.#opts.bypassMapPin) removePin(this.#opts.bypassMapPin, { missingOk: true });
    const maps = this.#dir('maps');
    if (maps && existsSync(maps)) {
      removePin(join(maps, MAP.stats), { missingOk: true });
      removeEmptyPinDir(maps);
    }
    if (this.#opts.pinRoot) removeEmptyPinDir(this.#opts.pinRoot);
  }

  #skeleton(op: string): CgroupMarkSkeleton {
    if (this.#state === 'closed') throw new InvalidArgumentError(`cgroup-mark: ${op}: the dataplane is closed`);
    if (!this.#skel) throw new InvalidArgumentError(`cgroup-mark: ${op} is allowed only after load()`);
    return this.#skel;
  }

  #expect(state: 'opened', op: string): void {
    if (this.#state !== state) throw new InvalidArgumentError(`cgroup-mark: ${op} is allowed only right after open() (state: ${this.#state})`);
  }
}

/** Detaches the link pinned at `path` (a stale pin whose cgroup is gone is just removed). */
function detachPin(path: string): void {
  openPinnedLink(path).detach();
}

