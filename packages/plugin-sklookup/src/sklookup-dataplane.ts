/**
 * The sk_lookup mesh divert: one program (bpf/sk_lookup_mesh.bpf.c) attached, as a pinned link,
 * to the network namespace of every meshed pod on the node, and the maps it reads (mesh members,
 * pod addresses, the proxy's HBONE listeners, skip ports, the shared mesh_bypass map).
 *
 * Lifecycle (mirrors a libbpf skeleton): open (validate) -> load (maps reused from their pins) ->
 * seed (skip ports; adopt what the pinned maps and links hold) -> attach (adopted links switch to
 * this program without a gap) -> prepare/commit (desired mesh; prepare validates everything and
 * resolves namespaces and sockets before commit writes anything) -> close({ keepPinned }). Stages,
 * pins, links and close are core-bpf's DataplaneLifecycle.
 */
import { existsSync, fstatSync, readdirSync } from 'node:fs';
import {
  BpfMap,
  DataplaneLifecycle,
  InvalidArgumentError,
  NetnsHandle,
  PinIncompatibleError,
  SyscallError,
  attachNetns,
  openPinnedLink,
  socketInfo,
  type SocketInfo,
  type Program,
  type ReleaseLinkOptions,
} from '@bpfsteer/core-bpf';
import { defaultObjectPath } from './bpf-object-path.js';
import { displayAddress, meshKey } from './mesh-address.js';
import { CONSTANT, MAP, MEMBER, PROGRAM_NAME } from './map-codecs.js';
import { parsePinName, pinName } from './pod-pin-name.js';
import { DEFAULT_SKIP_PORTS, skipPortWords } from './skip-ports.js';
import type { DesiredMesh, DesiredPod, MeshCapacity } from './sklookup-intents.js';
import {
  mapSizes,
  readCounters,
  readMembers,
  readPodAddresses,
  readSockets,
  sklookupSkeleton,
  zeroCounters,
  type LookupCounters,
  type SklookupMaps,
} from './sklookup-maps.js';
import {
  adoptPods,
  planSklookup,
  type AppliedPod,
  type KernelMesh,
  type ResolvedPod,
  type ResolvedSocket,
  type SklookupPlan,
} from './sklookup-plan.js';

import { DEFAULT_BYPASS_ENTRIES, DEFAULT_BYPASS_TTL_MS, DEFAULT_MAX_MEMBERS, DEFAULT_MAX_POD_ADDRESSES, DEFAULT_MAX_PODS, MAX_MAX_MEMBERS, MAX_MAX_PODS } from './sklookup-limits.js';

export interface SklookupDataplaneOptions {
  /** bpffs directory owned by this dataplane: maps under maps/, links under links/. Without it nothing is pinned. */
  readonly pinRoot?: string;
  /** capacity of skl_members (default 65536) */
  readonly maxMembers?: number;
  /** pods on this node (default 1024) */
  readonly maxPods?: number;
  /** addresses of the pods on this node (default 4096) */
  readonly maxPodAddresses?: number;
  /** ports never diverted, in addition to 15001, 15006, 15008 */
  readonly skipPorts?: readonly number[];
  /** how long after the proxy's marked SYN a mesh_bypass entry counts (default 5000 ms) */
  readonly bypassTtlMs?: number;
  /** capacity of mesh_bypass (default 65536); must equal plugin-cgroup-mark's when the map is shared */
  readonly bypassEntries?: number;
  /**
   * mesh_bypass pinned by plugin-cgroup-mark (reused when present, created and pinned there
   * otherwise, so start order does not matter; never removed by this dataplane). Default: a map of
   * its own under pinRoot/maps, which nothing fills.
   */
  readonly bypassMapPin?: string;
  /** compiled object; default: bpf/sk_lookup_mesh.bpf.o shipped in this package */
  readonly objectPath?: string;
}

export interface PodStatus {
  readonly uid: string;
  readonly slot: number;
  /** netns path of the last attach (undefined for a pod adopted after a restart, until the next apply) */
  readonly netns?: string;
  readonly addresses: readonly string[];
  /** socket cookie by address, for the addresses with a socket entry */
  readonly sockets: Readonly<Record<string, string>>;
  readonly pinned?: string;
  readonly counters: LookupCounters;
}

export interface SklookupDataplaneStatus {
  readonly pods: readonly PodStatus[];
  /** lookups whose destination is no pod address */
  readonly unattributed: LookupCounters;
  readonly members: number;
  readonly skipPorts: readonly number[];
  readonly maps: readonly { readonly name: string; readonly entries: number; readonly maxEntries: number }[];
  readonly problems: readonly string[];
}

export interface ApplyCounts {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
}

/** A validated desired mesh with its namespaces open; commit it or release it. */
export interface PreparedApply {
  readonly plan: SklookupPlan;
  release(): void;
}

interface ValidOptions extends MeshCapacity {
  readonly skipPorts: readonly number[];
  readonly bypassTtlMs: number;
  readonly bypassEntries: number;
  readonly bypassMapPin?: string;
}

function intIn(value: unknown, def: number, min: number, max: number, name: string): number {
  const v = value ?? def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`sklookup: ${name} must be an integer ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return v;
}

function validateOptions(o: SklookupDataplaneOptions): ValidOptions {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('sklookup: options must be an object');
  if (o.bypassMapPin !== undefined && (typeof o.bypassMapPin !== 'string' || !o.bypassMapPin.startsWith('/'))) {
    throw new InvalidArgumentError(`sklookup: bypassMapPin must be an absolute path on bpffs, got ${JSON.stringify(o.bypassMapPin)}`);
  }
  const skip = o.skipPorts ?? [];
  if (!Array.isArray(skip)) throw new InvalidArgumentError('sklookup: skipPorts must be an array of ports');
  skipPortWords(skip); // validates
  return {
    ...(o.bypassMapPin !== undefined ? { bypassMapPin: o.bypassMapPin } : {}),
    maxMembers: intIn(o.maxMembers, DEFAULT_MAX_MEMBERS, 1, MAX_MAX_MEMBERS, 'maxMembers'),
    maxPods: intIn(o.maxPods, DEFAULT_MAX_PODS, 1, MAX_MAX_PODS, 'maxPods'),
    maxPodAddresses: intIn(o.maxPodAddresses, DEFAULT_MAX_POD_ADDRESSES, 1, 1 << 20, 'maxPodAddresses'),
    bypassEntries: intIn(o.bypassEntries, DEFAULT_BYPASS_ENTRIES, 1, 1 << 22, 'bypassEntries'),
    bypassTtlMs: intIn(o.bypassTtlMs, DEFAULT_BYPASS_TTL_MS, 1, 3_600_000, 'bypassTtlMs'),
    skipPorts: [...new Set([...DEFAULT_SKIP_PORTS, ...skip])].sort((a, b) => a - b),
  };
}

export class SklookupDataplane {
  readonly #opts: ValidOptions;
  readonly #life: DataplaneLifecycle<typeof sklookupSkeleton>;
  /** a one-entry SOCKHASH used to check a socket and learn its cookie before the real map is touched */
  #scratch: BpfMap | undefined;
  #members = new Set<string>();
  #podAddresses = new Map<string, number>();
  #sockets = new Map<string, bigint>();
  #pods = new Map<string, AppliedPod>();
  /** pins under links/ that are not (or no longer) ours to keep, detached at attach() */
  #foreignPins: string[] = [];

  private constructor(options: SklookupDataplaneOptions) {
    this.#opts = validateOptions(options);
    const { pinRoot, objectPath = defaultObjectPath() } = options;
    this.#life = new DataplaneLifecycle({ name: 'sklookup', objectPath, skeleton: sklookupSkeleton, pinRoot });
  }

  /** Checks the options and that the object exists; nothing touches the kernel yet. */
  static open(options: SklookupDataplaneOptions = {}): SklookupDataplane {
    return new SklookupDataplane(options);
  }

  get capacity(): MeshCapacity {
    const { maxMembers, maxPods, maxPodAddresses } = this.#opts;
    return { maxMembers, maxPods, maxPodAddresses };
  }

  get skipPorts(): readonly number[] {
    return this.#opts.skipPorts;
  }

  /** Loads the program (bypass time-to-live as a constant), reusing the maps pinned under pinRoot/maps and bypassMapPin. */
  load(): void {
    const sizes = mapSizes(this.#opts);
    const shared = this.#opts.bypassMapPin;
    const scratch = BpfMap.create({ type: 'sockhash', name: 'skl_scratch', keySize: 4, valueSize: 8, maxEntries: 1 });
    try {
      this.#life.load({
        // a shared mesh_bypass is plugin-cgroup-mark's: a plain close leaves its pin
        maps: Object.fromEntries(
          Object.values(MAP).map((name) => [name, { maxEntries: sizes[name], ...(name === MAP.bypass && shared ? { pinPath: shared, shared: true } : {}) }]),
        ),
        constants: { [CONSTANT.bypassTtlNs]: BigInt(this.#opts.bypassTtlMs) * 1_000_000n },
        incompatibleHint: 'maps pinned with other capacities; a mesh_bypass map shared with plugin-cgroup-mark needs the same bypassEntries in both',
      });
    } catch (err) {
      scratch.close();
      throw err;
    }
    this.#scratch = scratch;
  }

  /** Writes the skip ports and adopts what the pinned maps and links hold. */
  seed(): void {
    this.#life.expect('seed', 'loaded');
    const maps = this.#maps();
    maps[MAP.skipPorts].reconcile([...skipPortWords(this.#opts.skipPorts)]);
    this.#readKernel();
    const dir = this.#life.linksDir;
    const pins: { name: string; uid: string; slot: number }[] = [];
    this.#foreignPins = [];
    if (dir && existsSync(dir)) {
      for (const name of readdirSync(dir).sort()) {
        const parsed = parsePinName(name);
        if (parsed) pins.push({ name, ...parsed });
        else this.#foreignPins.push(name);
      }
    }
    const { pods, foreign } = adoptPods(pins, this.#podAddresses, this.#opts.maxPods);
    this.#pods = pods;
    this.#foreignPins.push(...foreign);
    this.#life.advance('seeded');
  }

  #readKernel(): void {
    const maps = this.#maps();
    this.#members = readMembers(maps);
    this.#podAddresses = readPodAddresses(maps);
    this.#sockets = readSockets(maps);
  }

  /**
   * Switches every adopted link to this program (no gap: until now the previous program ran on the
   * same pinned maps) and detaches pins that are not ours to keep. A link whose namespace is gone is
   * dropped (the next apply attaches the pod again if it is still wanted).
   */
  attach(): void {
    this.#life.expect('attach', 'seeded');
    const foreign = new Set(this.#foreignPins);
    this.#life.detachPinnedLinksExcept((file) => !foreign.has(file));
    this.#foreignPins = [];
    for (const pod of this.#pods.values()) {
      const pin = this.#pinPath(pod);
      if (!pin || !existsSync(pin)) continue;
      const link = openPinnedLink(pin);
      try {
        link.update(this.program);
        this.#life.links.set(pod.uid, link);
      } catch (err) {
        if (!(err instanceof SyscallError)) throw err;
        link.detach(); // its namespace is gone (ENOLINK): the pin goes too
      }
    }
    this.#life.advance('attached');
  }

  get program(): Program {
    return this.#life.skeleton.programs[PROGRAM_NAME];
  }

  #pinPath(pod: { uid: string; slot: number }): string | undefined {
    return this.#life.linkPinPath(pinName(pod.uid, pod.slot));
  }

  /**
   * Validates `desired` against the system: every pod's namespace opens (and no two pods share
   * one), every socket fd is a TCP listener of its pod's namespace that the kernel accepts in a
   * SOCKHASH, at most one per address family. Throws InvalidArgumentError (naming the pod) before anything is written; the result
   * holds the namespaces open until commit or release.
   */
  prepare(desired: DesiredMesh): PreparedApply {
    this.#life.expect('prepare', 'attached');
    const handles = new Map<string, NetnsHandle>();
    const release = () => {
      for (const h of handles.values()) h.close();
      handles.clear();
    };
    try {
      const resolved = new Map<string, ResolvedPod>();
      const byInode = new Map<bigint, string>();
      for (const pod of desired.pods.values()) {
        const handle = openPodNetns(pod.uid, pod.netns);
        handles.set(pod.uid, handle);
        const ino = handle.inode;
        const other = byInode.get(ino);
        if (other !== undefined) {
          throw new InvalidArgumentError(`pods ${JSON.stringify(other)} and ${JSON.stringify(pod.uid)} name the same network namespace (${pod.netns}); each pod has its own`);
        }
        byInode.set(ino, pod.uid);
        const sockets = pod.socketFds === undefined ? undefined : this.#resolveSockets(pod, pod.socketFds, ino);
        resolved.set(pod.uid, { ...pod, netnsIno: ino, ...(sockets !== undefined ? { sockets } : {}) });
      }
      // sockets close on their own: the kernel drops their entries
      this.#sockets = readSockets(this.#maps());
      const plan = planSklookup(this.#kernel(), resolved, desired.members, this.#opts.maxPods);
      const prepared: PreparedApply = { plan, release };
      handlesOfPrepared.set(prepared, handles);
      return prepared;
    } catch (err) {
      release();
      throw err;
    }
  }

  #kernel(): KernelMesh {
    return { members: this.#members, podAddresses: this.#podAddresses, sockets: this.#sockets, pods: this.#pods };
  }

  /** The listeners of a pod, checked (see #resolveSocket), at most one per address family. */
  #resolveSockets(pod: DesiredPod, fds: readonly number[], netnsIno: bigint): ResolvedSocket[] {
    const sockets = fds.map((fd, i) => this.#resolveSocket(fd, pod, netnsIno, pod.socketHandles?.[i]));
    for (const family of [4, 6] as const) {
      const same = sockets.filter((s) => s.family === family);
      if (same.length > 1) {
        throw new InvalidArgumentError(
          `pod ${JSON.stringify(pod.uid)}: sockets ${same.map((s) => socketName(s.fd, pod.socketHandles?.[fds.indexOf(s.fd)])).join(' and ')} are both IPv${family} listeners; give at most one per address family`,
        );
      }
    }
    return sockets;
  }

  /**
   * A listener of the pod, after checking that it is a TCP listener of the pod's namespace (the
   * kernel would also assign a socket of another namespace, which then breaks the connection) and
   * that the kernel takes it into a SOCKHASH (which tells its cookie).
   */
  #resolveSocket(fd: number, pod: DesiredPod, netnsIno: bigint, handle?: string): ResolvedSocket {
    const who = `pod ${JSON.stringify(pod.uid)}: socket ${socketName(fd, handle)}`;
    let stat;
    try {
      stat = fstatSync(fd, { bigint: true });
    } catch {
      throw new InvalidArgumentError(`${who} is not an open file descriptor`);
    }
    if (!stat.isSocket()) throw new InvalidArgumentError(`${who} is not a socket; expected the proxy's HBONE listening socket`);
    let info: SocketInfo;
    try {
      info = socketInfo(fd);
    } catch (err) {
      throw new InvalidArgumentError(`${who}: cannot inspect the socket (${(err as Error).message})`);
    }
    if ((info.family !== 'inet' && info.family !== 'inet6') || info.protocol !== 6 || info.netnsInode !== netnsIno) {
      throw new InvalidArgumentError(
        `${who} is not a TCP socket of the pod's network namespace ${pod.netns}; expected the proxy's HBONE listener opened inside it`,
      );
    }
    if (!info.listening) {
      throw new InvalidArgumentError(`${who} is a TCP socket (port ${info.local?.port ?? '?'}) that is not listening; expected the proxy's HBONE listener`);
    }
    const scratch = this.#scratch as BpfMap;
    const key = Buffer.alloc(4);
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(BigInt(fd));
    try {
      scratch.update(key, value);
    } catch (err) {
      throw new InvalidArgumentError(`${who}: the kernel refuses it in a SOCKHASH (${(err as Error).message})`);
    }
    let cookie: bigint;
    try {
      cookie = (scratch.lookup(key) as Buffer).readBigUInt64LE(0);
    } finally {
      scratch.delete(key);
    }
    return { fd, cookie, family: info.family === 'inet' ? 4 : 6, v6Only: info.v6Only ?? false };
  }

  /**
   * Executes a prepared plan (see sklookup-plan.ts for the order) and releases it. On a kernel
   * error the in-memory view is re-read from the maps so the next apply diffs right, and the error
   * is thrown.
   */
  commit(prepared: PreparedApply): ApplyCounts {
    this.#life.expect('commit', 'attached');
    try {
      this.#execute(prepared);
      return prepared.plan.report;
    } catch (err) {
      this.#readKernel();
      throw err;
    } finally {
      prepared.release();
    }
  }

  /** prepare + commit. */
  apply(desired: DesiredMesh): ApplyCounts {
    return this.commit(this.prepare(desired));
  }

  #execute(prepared: PreparedApply): void {
    const { plan } = prepared;
    const handles = handlesOfPrepared.get(prepared);
    const maps = this.#maps();
    // 1. links of pods that left or moved
    for (const pod of plan.detach) {
      const link = this.#life.links.get(pod.uid);
      if (link) link.detach();
      else {
        const pin = this.#pinPath(pod);
        if (pin && existsSync(pin)) openPinnedLink(pin).detach();
      }
      this.#life.links.delete(pod.uid);
      this.#pods.delete(pod.uid);
    }
    // 2. entries nobody wants, members that left
    for (const a of plan.deleteSockets) {
      maps[MAP.sockets].delete({ addr_be: a });
      this.#sockets.delete(a);
    }
    maps[MAP.pods].deleteMany(plan.deletePodAddresses.map((a) => ({ addr_be: a })));
    for (const a of plan.deletePodAddresses) this.#podAddresses.delete(a);
    maps[MAP.members].deleteMany(plan.removeMembers.map((a) => ({ addr_be: a })));
    for (const a of plan.removeMembers) this.#members.delete(a);
    // 3. new members, counters, pod addresses, sockets
    maps[MAP.members].setMany(plan.addMembers.map((a) => [{ addr_be: a }, MEMBER] as const));
    for (const a of plan.addMembers) this.#members.add(a);
    for (const slot of plan.resetCounters) maps[MAP.counters].set(slot, zeroCounters(maps));
    maps[MAP.pods].setMany(plan.setPodAddresses.map(([a, slot]) => [{ addr_be: a }, slot] as const));
    for (const [a, slot] of plan.setPodAddresses) this.#podAddresses.set(a, slot);
    for (const w of plan.setSockets) {
      maps[MAP.sockets].set({ addr_be: w.address }, BigInt(w.fd));
      this.#sockets.set(w.address, w.cookie);
    }
    // 4. links, now that the maps hold the pods
    for (const action of plan.links) {
      const handle = handles?.get(action.uid);
      if (!handle) throw new InvalidArgumentError(`sklookup: commit: pod ${action.uid} was not prepared`);
      this.#life.attachLink(action.uid, pinName(action.uid, action.slot), (pinPath) => {
        try {
          return attachNetns(this.program, { netns: handle, ...(pinPath ? { pinPath } : {}) });
        } catch (err) {
          // an adopted pin attached to another namespace (the pod's namespace changed while no agent ran)
          if (!(err instanceof PinIncompatibleError) || !pinPath) throw err;
          openPinnedLink(pinPath).detach();
          return attachNetns(this.program, { netns: handle, pinPath });
        }
      });
      this.#pods.set(action.uid, plan.next.get(action.uid) as AppliedPod);
    }
    for (const [uid, pod] of plan.next) this.#pods.set(uid, pod);
  }

  /** The pods in force with their lookup counters, sorted by uid. */
  pods(): PodStatus[] {
    this.#life.expect('pods', 'attached');
    const maps = this.#maps();
    this.#sockets = readSockets(maps);
    return [...this.#pods.values()]
      .sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0))
      .map((p) => {
        const sockets: Record<string, string> = {};
        for (const a of p.addresses) {
          const cookie = this.#sockets.get(a);
          if (cookie !== undefined) sockets[displayAddress(a)] = String(cookie);
        }
        const pinned = this.#life.links.get(p.uid)?.pinnedPath;
        return {
          uid: p.uid,
          slot: p.slot,
          ...(p.netns !== undefined ? { netns: p.netns } : {}),
          addresses: p.addresses.map(displayAddress),
          sockets,
          ...(pinned ? { pinned } : {}),
          counters: readCounters(maps, p.slot),
        };
      });
  }

  /**
   * The lookup counters (summed over CPUs) of each pod in force, sorted by uid, and of slot 0 (the
   * lookups whose destination is no pod address): what pods() and status() report of them, without
   * reading the sockets.
   */
  lookupCounters(): { pods: Array<{ uid: string; counters: LookupCounters }>; unattributed: LookupCounters } {
    this.#life.expect('lookupCounters', 'attached');
    const maps = this.#maps();
    return {
      pods: [...this.#pods.values()].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0)).map((p) => ({ uid: p.uid, counters: readCounters(maps, p.slot) })),
      unattributed: readCounters(maps, 0),
    };
  }

  /** Whether `address` (IPv4 or IPv6 text) is a mesh member in the map. */
  isMember(address: string): boolean {
    this.#life.expect('isMember', 'attached');
    return this.#members.has(meshKey(address));
  }

  get memberCount(): number {
    return this.#members.size;
  }

  status(): SklookupDataplaneStatus {
    this.#life.expect('status', 'attached');
    const maps = this.#maps();
    const pods = this.pods();
    const count: Record<string, number> = {
      [MAP.members]: this.#members.size,
      [MAP.sockets]: this.#sockets.size,
      [MAP.pods]: this.#podAddresses.size,
      [MAP.counters]: this.#pods.size + 1,
      [MAP.skipPorts]: skipPortWords(this.#opts.skipPorts).size,
      [MAP.bypass]: maps[MAP.bypass].count(),
    };
    return {
      pods,
      unattributed: readCounters(maps, 0),
      members: this.#members.size,
      skipPorts: this.#opts.skipPorts,
      maps: Object.values(MAP).map((name) => ({ name, entries: count[name], maxEntries: maps[name].map.maxEntries })),
      problems: this.#problems(maps),
    };
  }

  #problems(maps: SklookupMaps): string[] {
    const out: string[] = [];
    const shared = this.#opts.bypassMapPin;
    if (shared) {
      let pinnedId: number | undefined;
      try {
        const m = BpfMap.fromPinned(shared);
        pinnedId = m.id;
        m.close();
      } catch {
        pinnedId = undefined;
      }
      if (pinnedId !== maps[MAP.bypass].map.id) {
        out.push(
          `the mesh_bypass map pinned at ${shared} is ${pinnedId === undefined ? 'gone' : 'another map'} than the one this program reads ` +
            '(plugin-cgroup-mark was restarted without keepPinned): restart this plugin so the proxy\'s own connections are recognised again',
        );
      }
    }
    return out;
  }

  /**
   * Releases everything. With keepPinned the links stay attached and the maps pinned (a restarted
   * dataplane re-adopts them with no gap); with discardNew too (a failed start) only those an
   * earlier run pinned: the maps this load pinned (a shared bypassMapPin only when this load created
   * it) and the links it attached are removed. Without keepPinned the links are detached and the
   * pins removed (a shared bypassMapPin is left to its owner). Idempotent.
   */
  close(options: ReleaseLinkOptions = { keepPinned: false }): void {
    this.#life.close(options, () => {
      const scratch = this.#scratch;
      this.#scratch = undefined;
      scratch?.close();
    });
  }

  #maps(): SklookupMaps {
    return this.#life.skeleton.maps;
  }
}

/** A listener as messages name it: its handle and fd, or its fd. */
function socketName(fd: number, handle: string | undefined): string {
  return handle === undefined ? `fd ${fd}` : `${handle} (fd ${fd})`;
}

/** The namespace handles of each prepared plan (kept off the public PreparedApply shape). */
const handlesOfPrepared = new WeakMap<PreparedApply, Map<string, NetnsHandle>>();

function openPodNetns(uid: string, netns: string): NetnsHandle {
  try {
    return NetnsHandle.open(netns);
  } catch (err) {
    throw new InvalidArgumentError(`pod ${JSON.stringify(uid)}: network namespace ${netns}: ${(err as Error).message}`);
  }
}

