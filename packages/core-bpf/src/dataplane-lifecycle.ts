/**
 * The shell every dataplane shares, so that a dataplane is its planner and its map writes:
 *
 *   const life = new DataplaneLifecycle({ name: 'tc-nexthop', objectPath, skeleton: spec, pinRoot, netns });
 *   life.load({ maps: { routes: { maxEntries: 4096 } }, incompatibleHint: 'maps pinned by another version or size' });
 *   life.advance('seeded');                       // after the dataplane filled its maps
 *   life.attachLink('eth0', 'egress-eth0', (pinPath) => attachTc(life.skeleton.programs.p, { ..., pinPath }));
 *   life.expect('setRules', 'seeded');            // the guard of every operation
 *   life.close({ keepPinned: true });             // links, pins, object; errors collected
 *
 * It owns the stages open -> load -> seed -> attach -> close and their guards, the skeleton, the
 * links by the dataplane's key, and the pin layout under pinRoot (maps/<name>, links/<file>). Close
 * releases everything with the agent's semantics: keepPinned keeps the pinned maps and links in
 * force; keepPinned with discardNew (a failed start) keeps only what an earlier run pinned; a plain
 * close detaches the links and removes every pin this dataplane owns, then the directories left empty.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MapLoadOptions } from './bpf-object.js';
import { InvalidArgumentError, NotFoundError, PinIncompatibleError } from './errors.js';
import type { Link } from './link.js';
import { NetnsHandle } from './netns.js';
import type { ConstantValue } from './object-constants.js';
import { openPinnedLink } from './open-pinned-link.js';
import { detachPinnedLinks, removeEmptyPinDir } from './pin-dir.js';
import { removePin } from './pin-path.js';
import { releaseLink, type ReleaseLinkOptions } from './release-link.js';
import { loadSkeleton, type MapBinding, type Skeleton, type SkeletonSpec } from './skeleton.js';

/** Where a dataplane is in its lifecycle; each stage follows the one before it. */
export type DataplaneStage = 'opened' | 'loaded' | 'seeded' | 'attached' | 'closed';

const NEED: Record<Exclude<DataplaneStage, 'closed'>, string> = {
  opened: 'right after open()',
  loaded: 'after load()',
  seeded: 'after load() and seed()',
  attached: 'after attach()',
};

type AnySkeletonSpec = SkeletonSpec<string, Record<string, MapBinding<any, any>>>;

/** The loaded skeleton of a spec. */
export type SkeletonOf<S extends AnySkeletonSpec> = Skeleton<S['programs'][number], S['maps']>;

export interface DataplaneLifecycleOptions<S extends AnySkeletonSpec> {
  /** names the dataplane in every error, e.g. "tc-nexthop" */
  readonly name: string;
  /** the compiled object */
  readonly objectPath: string;
  readonly skeleton: S;
  /** bpffs directory owned by the dataplane: maps under maps/, links under links/. Without it nothing is pinned. */
  readonly pinRoot?: string;
  /** network namespace (name or path) of the interfaces its pinned tc links are on; checked to exist */
  readonly netns?: string;
}

export interface DataplaneMapOptions {
  readonly maxEntries?: number;
  /** pin it here instead of <pinRoot>/maps/<name> (e.g. a map shared with another dataplane) */
  readonly pinPath?: string;
  /** the pin belongs to another dataplane: a plain close leaves it (a failed start still removes it if it created it) */
  readonly shared?: boolean;
  /** transient state (connection tracking, an event ring): a pinned map of another definition is replaced, not refused */
  readonly transient?: boolean;
}

export interface DataplaneLoadOptions {
  /** the maps to size and pin, by name (every one pinned under pinRoot unless it says otherwise) */
  readonly maps: Readonly<Record<string, DataplaneMapOptions>>;
  /** values of `const volatile` globals, by name */
  readonly constants?: Readonly<Record<string, ConstantValue>>;
  /** why a pinned map may differ, e.g. "maps pinned by another version or maxRules" (a PinIncompatibleError says it with the remedy) */
  readonly incompatibleHint: string;
}

export class DataplaneLifecycle<S extends AnySkeletonSpec> {
  readonly name: string;
  readonly pinRoot: string | undefined;
  readonly netns: string | undefined;
  /** the links the dataplane holds, by its own key (an interface, a pod, a cgroup); close releases every one */
  readonly links = new Map<string, Link>();
  readonly #objectPath: string;
  readonly #spec: S;
  #stage: DataplaneStage = 'opened';
  #skeleton: SkeletonOf<S> | undefined;
  /** the pins of the maps this dataplane owns (removed by a plain close) */
  #ownedMapPins: string[] = [];
  /** each loaded map's pin path (undefined: not pinned) */
  #mapPins = new Map<string, string | undefined>();

  /** Checks the options, that the netns and the object exist; nothing touches the kernel yet. */
  constructor(options: DataplaneLifecycleOptions<S>) {
    if (options === null || typeof options !== 'object' || typeof options.name !== 'string' || options.name === '') {
      throw new InvalidArgumentError('dataplane: options must be an object { name, objectPath, skeleton, pinRoot?, netns? }');
    }
    const { name, pinRoot, netns, objectPath } = options;
    if (pinRoot !== undefined && (typeof pinRoot !== 'string' || !pinRoot.startsWith('/'))) {
      throw new InvalidArgumentError(`${name}: pinRoot must be an absolute path on bpffs, got ${JSON.stringify(pinRoot)}`);
    }
    if (netns !== undefined) {
      if (typeof netns !== 'string' || netns === '') {
        throw new InvalidArgumentError(`${name}: netns must be a netns name or path, got ${JSON.stringify(netns)}`);
      }
      NetnsHandle.open(netns).close(); // fails clearly when it does not exist
    }
    if (typeof objectPath !== 'string' || !existsSync(objectPath)) {
      throw new NotFoundError(`${name} BPF object ${objectPath} (build it with \`make -C bpf\` and the package build, which copies it)`);
    }
    this.name = name;
    this.pinRoot = pinRoot;
    this.netns = netns;
    this.#objectPath = objectPath;
    this.#spec = options.skeleton;
  }

  get stage(): DataplaneStage {
    return this.#stage;
  }

  /** Whether the dataplane is in one of `stages`. */
  is(...stages: DataplaneStage[]): boolean {
    return stages.includes(this.#stage);
  }

  /** The guard of an operation: InvalidArgumentError naming `op` unless the dataplane is in one of `stages`. */
  expect(op: string, ...stages: Exclude<DataplaneStage, 'closed'>[]): void {
    if (this.#stage === 'closed') throw new InvalidArgumentError(`${this.name}: ${op}: the dataplane is closed`);
    if (!stages.includes(this.#stage)) {
      throw new InvalidArgumentError(`${this.name}: ${op} is allowed only ${stages.map((s) => NEED[s]).join(' or ')} (state: ${this.#stage})`);
    }
  }

  /** Moves on to `stage`: seeded after load(), attached after seeding. */
  advance(stage: 'seeded' | 'attached'): void {
    this.expect(`advance to ${stage}`, stage === 'seeded' ? 'loaded' : 'seeded');
    this.#stage = stage;
  }

  /** <pinRoot>/maps, or undefined without pinRoot. */
  get mapsDir(): string | undefined {
    return this.pinRoot === undefined ? undefined : join(this.pinRoot, 'maps');
  }

  /** <pinRoot>/links, or undefined without pinRoot. */
  get linksDir(): string | undefined {
    return this.pinRoot === undefined ? undefined : join(this.pinRoot, 'links');
  }

  /** Where the link pinned as `file` lives (<pinRoot>/links/<file>), or undefined without pinRoot. */
  linkPinPath(file: string): string | undefined {
    const dir = this.linksDir;
    return dir === undefined ? undefined : join(dir, file);
  }

  /** The loaded skeleton; InvalidArgumentError before load() and after close(). */
  get skeleton(): SkeletonOf<S> {
    if (!this.#skeleton) throw new InvalidArgumentError(`${this.name}: the BPF object is not loaded (state: ${this.#stage})`);
    return this.#skeleton;
  }

  /**
   * Loads the object with its maps sized and pinned as `options.maps` says, reusing compatible maps
   * pinned by an earlier run. A pinned map of another definition is a PinIncompatibleError that gives
   * `options.incompatibleHint` and the remedy (stop the old dataplane without keepPinned, or remove the pin).
   */
  load(options: DataplaneLoadOptions): SkeletonOf<S> {
    this.expect('load', 'opened');
    const maps: Record<string, MapLoadOptions> = {};
    const owned: string[] = [];
    const mapPins = new Map<string, string | undefined>();
    for (const [name, m] of Object.entries(options.maps)) {
      const pinPath = m.pinPath ?? (this.mapsDir === undefined ? undefined : join(this.mapsDir, name));
      mapPins.set(name, pinPath);
      maps[name] = {
        ...(m.maxEntries !== undefined ? { maxEntries: m.maxEntries } : {}),
        ...(pinPath !== undefined ? { pinPath, ...(m.transient ? { ifPinIncompatible: 'replace' as const } : {}) } : {}),
      };
      if (pinPath !== undefined && !m.shared) owned.push(pinPath);
    }
    try {
      const constants = options.constants ? { constants: options.constants } : {};
      this.#skeleton = loadSkeleton(this.#objectPath, this.#spec, { maps, ...constants }) as SkeletonOf<S>;
    } catch (err) {
      if (err instanceof PinIncompatibleError) {
        const detail = err.message.replace(/^pinned object \S+ is incompatible: /, '');
        const remedy = `stop the old dataplane without keepPinned, or remove ${err.path}`;
        throw new PinIncompatibleError(err.path, `${detail} (${options.incompatibleHint}; ${remedy})`);
      }
      throw err;
    }
    this.#ownedMapPins = owned;
    this.#mapPins = mapPins;
    this.#stage = 'loaded';
    return this.#skeleton;
  }

  /**
   * Whether load() created map `name` empty (not pinned, or pinned now) rather than reusing a map an
   * earlier run pinned: a dataplane has nothing to adopt from maps that are all new.
   */
  isNewMap(name: string): boolean {
    this.expect('isNewMap', 'loaded', 'seeded', 'attached');
    if (!this.#mapPins.has(name)) throw new NotFoundError(`${this.name}: map ${name} was not loaded through load()`);
    const pinPath = this.#mapPins.get(name);
    return pinPath === undefined || this.skeleton.object.newPins.includes(pinPath);
  }

  /**
   * Attaches with `attach(pinPath)` (the pin <pinRoot>/links/<file>, its directory created) and keeps
   * the link under `key`; a different link held under `key` before is closed (its pin keeps it in force).
   */
  attachLink(key: string, file: string, attach: (pinPath: string | undefined) => Link): Link {
    const pinPath = this.linkPinPath(file);
    if (pinPath !== undefined) mkdirSync(dirname(pinPath), { recursive: true });
    const link = attach(pinPath);
    const old = this.links.get(key);
    if (old !== undefined && old !== link) old.close();
    this.links.set(key, link);
    return link;
  }

  /** Detaches the links pinned under <pinRoot>/links by earlier runs whose file `keep` refuses; returns their files. */
  detachPinnedLinksExcept(keep: (file: string) => boolean): string[] {
    const dir = this.linksDir;
    if (dir === undefined || !existsSync(dir)) return [];
    const detached: string[] = [];
    for (const file of readdirSync(dir)) {
      if (keep(file)) continue;
      openPinnedLink(join(dir, file), { netns: this.netns }).detach();
      detached.push(file);
    }
    return detached;
  }

  /**
   * Releases everything; idempotent. The links go first (kept in force or detached, see
   * releaseLink), then the pins (a plain close removes the owned ones and the directories left
   * empty; keepPinned with discardNew removes only what this load pinned), then `release` (the
   * dataplane's own resources: timers, event rings, extra maps, neighbour entries), then the object.
   * Every step runs even when one before it failed; the errors are thrown at the end (one, or an
   * AggregateError).
   */
  close(options: ReleaseLinkOptions = { keepPinned: false }, release?: () => void): void {
    if (this.#stage === 'closed') return;
    const errors: unknown[] = [];
    const attempt = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const link of this.links.values()) attempt(() => releaseLink(link, options));
    this.links.clear();
    if (!options.keepPinned && this.#stage !== 'opened') attempt(() => this.#removePins());
    if (options.keepPinned && options.discardNew) attempt(() => this.#removeNewPins());
    if (release) attempt(release);
    attempt(() => this.#skeleton?.close());
    this.#skeleton = undefined;
    this.#stage = 'closed';
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${this.name}: close: ${errors.length} errors`);
  }

  /** After a failed start: the pins this load created go, the directories left empty too. */
  #removeNewPins(): void {
    const links = this.linksDir;
    if (links) removeEmptyPinDir(links);
    this.#skeleton?.object.removeNewPins();
    if (this.pinRoot) removeEmptyPinDir(this.pinRoot);
  }

  #removePins(): void {
    const links = this.linksDir;
    if (links) detachPinnedLinks(links, { netns: this.netns });
    for (const pin of this.#ownedMapPins) removePin(pin, { missingOk: true });
    const maps = this.mapsDir;
    if (maps) removeEmptyPinDir(maps);
    if (this.pinRoot) removeEmptyPinDir(this.pinRoot);
  }
}

/**
 * Runs `start` (load, seed, ...) on a dataplane just opened; if it fails, closes the dataplane as a
 * failed start does (keepPinned + discardNew: what an earlier run pinned stays) and throws the error.
 */
export function startDataplane<D extends { close(options: ReleaseLinkOptions): void }>(dataplane: D, start: (dataplane: D) => void): D {
  try {
    start(dataplane);
  } catch (err) {
    try {
      dataplane.close({ keepPinned: true, discardNew: true });
    } catch (closeErr) {
      throw new AggregateError([err, closeErr], `${err instanceof Error ? err.message : String(err)} (and closing after it failed too)`);
    }
    throw err;
  }
  return dataplane;
}
