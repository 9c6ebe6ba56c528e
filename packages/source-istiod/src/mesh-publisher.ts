/**
 * Publishes the istiod source's snapshot with `sink.commit`: the mesh members of the latest xDS state, and the pods of the CNI side (ZDS) as `sklookup.pod` with their netns
 * and HBONE listeners as handles of the agent's socket-handle registry: each object (namespace,
 * socket, by inode) is registered once and keeps its handle while it is published; a handle it no
 * longer publishes is released, and the registry closes it once a commit without it succeeded
 * (each commit is bracketed by the registry's committer).
 *
 * - Nothing is committed before Istiod's first response, nor, when pods are expected, before the
 *   CNI side's initial sync, however long that takes: members published without the pods would
 *   make the plugin detach the pods a restarted agent still has pinned. After `podSyncWarnMs` a
 *   warning says what is being waited for (the plugins keep their pinned state meanwhile).
 * - A snapshot is committed only when it differs from the last one committed (the Istiod stream
 *   dropping and coming back, or an unchanged pod list, commit nothing).
 * - A refused commit leaves the previous snapshot in force (the agent put it back) and is logged;
 *   the next change tries again.
 * - Only the kinds a configured plugin consumes are published.
 *
 * Cost: every snapshot is complete, but it is built from what changed: the members come from a
 * MeshIndex updated with the resources the xDS response named, and each intent is checked against
 * the plugins' schemas once, when it first appears (kept until it goes). Publishing one more
 * workload into a mesh of 10,000 costs a copy of the intent list, not a rebuild and re-check of it.
 */
import { closeSync, openSync } from 'node:fs';
import type { ZodType } from 'zod';
import { checkIntents, type ConfigIssue, type Intent, type IntentSink } from '@bpfsteer/agent-kernel';
import { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
import type { HandleCommitter, SocketHandleRegistry } from '@bpfsteer/core-bpf';
import type { AddressState } from './xds/address-state.js';
import type { XdsLogger } from './xds/delta-ads-client.js';
import { MeshIndex, type StateChange } from './xds/mesh-index.js';
import type { PodListener, PodNetwork } from './zds/hbone-listeners.js';
import type { PodFeedState } from './zds/pod-feed.js';
import { type SkippedPod, selectPods } from './zds/pod-selection.js';
import { type PodHandles, sklookupPodIntents } from './zds/sklookup-intents.js';

export interface MeshPublisherOptions {
  readonly sink: IntentSink;
  readonly logger: XdsLogger;
  /** the configured plugins' intent schemas, by kind */
  readonly intentSchemas: ReadonlyMap<string, ZodType>;
  /**
   * set when a CNI side feeds pods: nothing is published before its initial sync; a warning is
   * logged after this many ms without it
   */
  readonly podSyncWarnMs?: number;
  /** the agent's socket-handle registry (SourceContext.socketHandles): without it no pod is published */
  readonly socketHandles?: SocketHandleRegistry;
  /** this node's network: only workloads of it are mesh members (mesh-view.ts); default '' */
  readonly network?: string;
}

export interface MeshPublisherDeps {
  /** opens a pod's netns by its path (a fresh fd, closed again once registered) */
  readonly openNetns?: (path: string) => number;
  readonly closeFd?: (fd: number) => void;
}

export class MeshPublisher {
  /** the kinds published (consumed by a configured plugin) */
  readonly consumed: ReadonlySet<string>;
  readonly #o: MeshPublisherOptions;
  readonly #handles?: SocketHandleRegistry;
  readonly #committer?: HandleCommitter;
  /** the handle of each object published (`netns:<inode>`, `socket:<inode>`) */
  readonly #held = new Map<string, string>();
  readonly #openNetns: (path: string) => number;
  readonly #closeFd: (fd: number) => void;
  readonly #index: MeshIndex;
  #haveState = false;
  /** checked `mesh.member` intents, by address, in the order they became members */
  readonly #members = new Map<string, Intent>();
  /** members the plugins' schema refused, with why (nothing is published while there are any) */
  readonly #refusedMembers = new Map<string, ConfigIssue[]>();
  #membersVersion = 0;
  #pods: readonly PodNetwork[] = [];
  #podsReady: boolean;
  #timer: NodeJS.Timeout | undefined;
  #lastKey: string | undefined;
  #lastSkipped = '';
  #stopped = false;

  constructor(options: MeshPublisherOptions, deps: MeshPublisherDeps = {}) {
    this.#o = options;
    this.consumed = new Set([MESH_MEMBER_KIND, SKLOOKUP_POD_KIND].filter((k) => options.intentSchemas.has(k)));
    if (options.socketHandles) {
      this.#handles = options.socketHandles;
      this.#committer = options.socketHandles.committer();
    }
    this.#openNetns = deps.openNetns ?? ((path) => openSync(path, 'r'));
    this.#closeFd = deps.closeFd ?? closeSync;
    this.#index = new MeshIndex(undefined, options.network ?? '');
    this.#podsReady = options.podSyncWarnMs === undefined || !this.consumed.has(SKLOOKUP_POD_KIND);
  }

  /** handles of the objects published (diagnostics, tests) */
  get heldHandles(): number {
    return this.#held.size;
  }

  /** Starts the wait for the pods' initial sync (a warning after podSyncWarnMs; no time-out). */
  start(): void {
    const warnAfter = this.#o.podSyncWarnMs;
    if (this.#podsReady || warnAfter === undefined) return;
    this.#timer = setTimeout(() => {
      if (this.#podsReady || this.#stopped) return;
      this.#o.logger.warn(
        { waitedMs: warnAfter, pods: this.#pods.length },
        'the pods (ZDS) have not synced yet (no proxy connected, or istio-cni not answering): nothing is published until they do; the plugins keep their pinned state',
      );
    }, warnAfter);
  }

  /**
   * Istiod's latest workload state. With `change` (the xDS change that led to it from the state
   * given last) only the resources it names are looked at.
   */
  setAddressState(state: AddressState, change?: StateChange): void {
    const delta = this.#index.update(state, change);
    this.#haveState = true;
    if (this.consumed.has(MESH_MEMBER_KIND) && (delta.added.length > 0 || delta.removed.length > 0)) {
      this.#membersVersion += 1;
      for (const address of delta.removed) {
        this.#members.delete(address);
        this.#refusedMembers.delete(address);
      }
      const fresh = delta.added.map((address) => ({ kind: MESH_MEMBER_KIND, address }));
      const { intents, issues } = checkIntents(fresh, this.#o.intentSchemas);
      const refused = new Set<number>();
      for (const issue of issues) {
        const i = issue.path[0] as number;
        refused.add(i);
        this.#refusedMembers.set(delta.added[i], [...(this.#refusedMembers.get(delta.added[i]) ?? []), issue]);
      }
      // checkIntents returns the valid ones in order: pair them back with their addresses
      let next = 0;
      delta.added.forEach((address, i) => {
        if (!refused.has(i)) this.#members.set(address, intents[next++]);
      });
    }
    this.#publish();
  }

  /** The CNI side's latest pods. */
  setPods(state: PodFeedState): void {
    this.#pods = state.pods;
    if (state.synced && !this.#podsReady) {
      this.#podsReady = true;
      clearTimeout(this.#timer);
      this.#o.logger.info({ pods: state.pods.length }, 'pods (ZDS) synced');
    }
    this.#publish();
  }

  /**
   * Publishes nothing more and releases its handles (those of the snapshot in force stay open
   * until the agent closes its registry: the plugins may apply that snapshot again meanwhile).
   */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#releaseExcept(new Set());
  }

  /** Releases the handles of the objects not in `used`. */
  #releaseExcept(used: ReadonlySet<string>): void {
    for (const [key, handle] of [...this.#held]) {
      if (used.has(key)) continue;
      this.#held.delete(key);
      this.#handles?.release(handle);
    }
  }

  /** The handle of the object `key`; the first time, `register()` makes it. */
  #hold(key: string, used: Set<string>, register: (handles: SocketHandleRegistry) => string): string {
    let handle = this.#held.get(key);
    if (handle === undefined) {
      handle = register(this.#handles!);
      this.#held.set(key, handle);
    }
    used.add(key);
    return handle;
  }

  /** Registers the namespace at `path` (of inode `inode`): opened, registered (checked), closed. */
  #registerNetns(handles: SocketHandleRegistry, pod: PodNetwork): string {
    const fd = this.#openNetns(pod.netnsPath);
    try {
      return handles.register(fd, 'netns', { what: `the netns of pod ${pod.uid}`, inode: pod.netnsInode });
    } finally {
      this.#closeFd(fd);
    }
  }

  #publish(): void {
    if (this.#stopped || !this.#haveState || !this.#podsReady) return;
    const { logger, sink } = this.#o;
    const used = new Set<string>();
    const pods = this.#podIntents(used);
    // what is not published any more goes once no commit names it (the registry sees to that)
    this.#releaseExcept(used);
    const issues = [...[...this.#refusedMembers.values()].flat(), ...pods.issues];
    if (issues.length) {
      // a plugin's schema refuses what was learned: keep the last good snapshot
      logger.error({ issues: issues.slice(0, 5), count: issues.length }, 'mesh intents rejected by the plugin schemas; not published');
      return;
    }
    const key = `${this.#membersVersion}/${JSON.stringify(pods.intents)}`;
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    const intents: Intent[] = [...this.#members.values(), ...pods.intents];
    const id = this.#committer?.begin(used.size ? [...used].map((k) => this.#held.get(k)!) : []);
    const counts = { members: this.#members.size, pods: pods.intents.length };
    void sink.commit(intents).then((result) => {
      if (id !== undefined) this.#committer!.settle(id, result.ok);
      if (result.ok) {
        logger.info({ ...counts, ...result.report }, 'mesh intents applied');
        return;
      }
      // the agent put the previous snapshot back (its handles are still open); the next change tries again
      if (this.#lastKey === key) this.#lastKey = undefined;
      logger.error({ ...counts, reason: result.reason, error: result.error }, 'mesh intents refused; the previous ones stay in force');
    });
  }

  /** Checked `sklookup.pod` intents naming the handles of their fds; adds the objects named to `used`. */
  #podIntents(used: Set<string>): { intents: Intent[]; issues: ConfigIssue[] } {
    if (!this.consumed.has(SKLOOKUP_POD_KIND)) return { intents: [], issues: [] };
    const selection = selectPods(this.#pods);
    const skipped: SkippedPod[] = [...selection.skipped];
    const held: PodNetwork[] = [];
    const handlesOf = new Map<string, PodHandles>();
    for (const pod of selection.pods) {
      if (!this.#handles) {
        skipped.push({ uid: pod.uid, reason: 'the agent has no socket-handle registry to name its netns and listeners by' });
        continue;
      }
      const own = new Set<string>();
      try {
        const netns = this.#hold(`netns:${pod.netnsInode}`, own, (h) => this.#registerNetns(h, pod));
        const sockets = new Map<PodListener, string>();
        for (const listener of pod.listeners) {
          const what = `the HBONE listener ${listener.address}:${listener.port} of pod ${pod.uid}`;
          sockets.set(listener, this.#hold(`socket:${listener.inode}`, own, (h) => h.register(listener.fd, 'socket', { what, inode: listener.inode })));
        }
        for (const k of own) used.add(k);
        handlesOf.set(pod.uid, { netns, socket: (l) => sockets.get(l)! });
        held.push(pod);
      } catch (err) {
        skipped.push({ uid: pod.uid, reason: `cannot register its fds: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    const report = JSON.stringify(skipped);
    if (report !== this.#lastSkipped) {
      this.#lastSkipped = report;
      if (skipped.length) this.#o.logger.warn({ skipped }, 'pods left out of the sk_lookup intents');
    }
    return checkIntents(sklookupPodIntents(held, (p) => handlesOf.get(p.uid)!), this.#o.intentSchemas);
  }
}
