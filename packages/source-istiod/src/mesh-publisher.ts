/**
 * Publishes the istiod source's snapshot with `sink.commit`: the mesh members and local workloads
 * of the latest xDS state, and the pods of the CNI side (ZDS) as `sklookup.pod` with their netns
 * and HBONE listener fds — held in an FdLedger until a commit without them succeeded.
 *
 * - Nothing is committed before Istiod's first response, nor, when pods are expected, before the
 *   CNI side's initial sync (at most `syncTimeoutMs`): an agent restart keeps what the plugins hold.
 * - A snapshot is committed only when it differs from the last one committed (the Istiod stream
 *   dropping and coming back, or an unchanged pod list, commit nothing).
 * - A refused commit leaves the previous snapshot in force (the agent put it back) and is logged;
 *   the next change tries again.
 * - Only the kinds a configured plugin consumes are published.
 */
import { closeSync, openSync } from 'node:fs';
import type { ZodType } from 'zod';
import { checkIntents, type Intent, type IntentSink } from '@bpfsteer/agent-kernel';
import { dupFd, netnsFdInode } from '@bpfsteer/core-bpf';
import { FdLedger } from './fd-ledger.js';
import { MESH_LOCAL_WORKLOAD_KIND, MESH_MEMBER_KIND, meshIntents } from './mesh-intents.js';
import type { AddressState } from './xds/address-state.js';
import type { XdsLogger } from './xds/delta-ads-client.js';
import { type MeshView, meshView } from './xds/mesh-view.js';
import type { PodListener, PodNetwork } from './zds/hbone-listeners.js';
import type { PodFeedState } from './zds/pod-feed.js';
import { type SkippedPod, selectPods } from './zds/pod-selection.js';
import { primaryListener, SKLOOKUP_POD_KIND, sklookupPodIntents } from './zds/sklookup-intents.js';

export interface MeshPublisherOptions {
  readonly sink: IntentSink;
  readonly logger: XdsLogger;
  /** the configured plugins' intent schemas, by kind */
  readonly intentSchemas: ReadonlyMap<string, ZodType>;
  /** this node's name: HBONE workloads on it are `mesh.local-workload` */
  readonly nodeName?: string;
  /** set when a CNI side feeds pods: the first commit waits for its sync, at most this long */
  readonly podSyncTimeoutMs?: number;
}

export interface MeshPublisherDeps {
  /** opens a pod's netns (a fresh fd of the namespace with inode `inode`) */
  readonly openNetns?: (path: string, inode: bigint) => number;
  /** a fresh duplicate of a socket fd */
  readonly dupFd?: (fd: number) => number;
  readonly closeFd?: (fd: number) => void;
}

function openNetnsChecked(path: string, inode: bigint): number {
  const fd = openSync(path, 'r');
  try {
    if (netnsFdInode(fd, path) !== inode) throw new Error(`${path} no longer names network namespace ${inode}`);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

export class MeshPublisher {
  /** the kinds published (consumed by a configured plugin) */
  readonly consumed: ReadonlySet<string>;
  readonly #o: MeshPublisherOptions;
  readonly #ledger: FdLedger;
  readonly #openNetns: (path: string, inode: bigint) => number;
  readonly #dupFd: (fd: number) => number;
  #view: MeshView | undefined;
  #pods: readonly PodNetwork[] = [];
  #podsReady: boolean;
  #timer: NodeJS.Timeout | undefined;
  #lastKey: string | undefined;
  #lastSkipped = '';
  #stopped = false;

  constructor(options: MeshPublisherOptions, deps: MeshPublisherDeps = {}) {
    this.#o = options;
    this.consumed = new Set([MESH_MEMBER_KIND, MESH_LOCAL_WORKLOAD_KIND, SKLOOKUP_POD_KIND].filter((k) => options.intentSchemas.has(k)));
    this.#ledger = new FdLedger({ close: deps.closeFd ?? closeSync });
    this.#openNetns = deps.openNetns ?? openNetnsChecked;
    this.#dupFd = deps.dupFd ?? ((fd) => dupFd(fd, 'hold an HBONE listener for the sk_lookup intents'));
    this.#podsReady = options.podSyncTimeoutMs === undefined || !this.consumed.has(SKLOOKUP_POD_KIND);
  }

  /** fds held for the intents (diagnostics, tests) */
  get heldFds(): number {
    return this.#ledger.size;
  }

  /** Starts the wait for the pods' initial sync. */
  start(): void {
    const wait = this.#o.podSyncTimeoutMs;
    if (this.#podsReady || wait === undefined) return;
    this.#timer = setTimeout(() => {
      if (this.#podsReady) return;
      this.#o.logger.warn({ waitedMs: wait }, 'the pods (ZDS) did not sync in time; publishing with the pods known so far');
      this.#podsReady = true;
      this.#publish();
    }, wait);
  }

  /** Istiod's latest workload state. */
  setAddressState(state: AddressState): void {
    this.#view = meshView(state, this.#o.nodeName);
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

  /** Publishes nothing more and closes the fds held. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ledger.closeAll();
  }

  #publish(): void {
    if (this.#stopped || !this.#view || !this.#podsReady) return;
    const { logger, intentSchemas, sink } = this.#o;
    const view = this.#view;
    const keys = new Set<string>();
    const pods = this.#podIntents(keys);
    const { intents, issues } = checkIntents([...meshIntents(view, this.consumed), ...pods], intentSchemas);
    if (issues.length) {
      // a plugin's schema refuses what was learned: keep the last good snapshot
      logger.error({ issues: issues.slice(0, 5), count: issues.length }, 'mesh intents rejected by the plugin schemas; not published');
      this.#ledger.sweep();
      return;
    }
    const key = JSON.stringify(intents);
    if (key === this.#lastKey) {
      this.#ledger.sweep();
      return;
    }
    this.#lastKey = key;
    const id = this.#ledger.begin(keys);
    const counts = { members: view.members.length, localWorkloads: view.localWorkloads.length, pods: pods.length };
    void sink.commit(intents).then((result) => {
      this.#ledger.settle(id, result.ok);
      if (result.ok) {
        logger.info({ ...counts, ...result.report }, 'mesh intents applied');
        return;
      }
      // the agent put the previous snapshot back (its fds are still held); the next change tries again
      if (this.#lastKey === key) this.#lastKey = undefined;
      logger.error({ ...counts, reason: result.reason, error: result.error }, 'mesh intents refused; the previous ones stay in force');
    });
  }

  /** `sklookup.pod` intents naming fds held in the ledger; adds their keys to `keys`. */
  #podIntents(keys: Set<string>): Intent[] {
    if (!this.consumed.has(SKLOOKUP_POD_KIND)) return [];
    const selection = selectPods(this.#pods);
    const skipped: SkippedPod[] = [...selection.skipped];
    const held: PodNetwork[] = [];
    for (const pod of selection.pods) {
      try {
        const own: string[] = [];
        const nsKey = `netns:${pod.netnsInode}`;
        const nsFd = this.#ledger.hold(nsKey, () => this.#openNetns(pod.netnsPath, pod.netnsInode));
        own.push(nsKey);
        const listener = primaryListener(pod);
        const listeners: PodListener[] = [];
        if (listener) {
          const socketKey = `socket:${listener.inode}`;
          listeners.push({ ...listener, fd: this.#ledger.hold(socketKey, () => this.#dupFd(listener.fd)) });
          own.push(socketKey);
        }
        for (const k of own) keys.add(k);
        held.push({ ...pod, netnsPath: `/proc/self/fd/${nsFd}`, listeners });
      } catch (err) {
        skipped.push({ uid: pod.uid, reason: `cannot hold its fds: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    const report = JSON.stringify(skipped);
    if (report !== this.#lastSkipped) {
      this.#lastSkipped = report;
      if (skipped.length) this.#o.logger.warn({ skipped }, 'pods left out of the sk_lookup intents');
    }
    return sklookupPodIntents(held);
  }
}
