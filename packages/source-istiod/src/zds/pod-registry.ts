/**
 * The pods the agent learned from the ZDS stream, each with the agent's own duplicate of its
 * network namespace fd (kept open while the pod exists, so the namespace cannot vanish under the
 * agent and `/proc/self/fd/N` names it).
 *
 * - add: a new pod (or a pod whose netns changed: the old fd is closed) — `added`; the same pod
 *   with the same netns only refreshes its name/namespace/service account.
 * - confirm / reject: the proxy acknowledged the Add — `confirmed` — or refused it — `pending`: the
 *   pod is kept, as ztunnel keeps it and retries every 5 s (istio/ztunnel src/inpod/statemanager.rs,
 *   pending_workloads), saying nothing over ZDS when a retry succeeds; istio-cni does not send a
 *   snapshot's Add again (istio/istio cni/pkg/nodeagent/ztunnelserver.go), so forgetting the pod
 *   would leave it undiverted for good. HboneListeners confirms it once the proxy's listener is
 *   there. A refusal of a pod another proxy confirmed leaves it confirmed.
 * - del: the pod is removed and its fd closed — `removed`.
 * - beginSnapshot/endSnapshot, per proxy session: between them every add/keep (of any session)
 *   names a pod; endSnapshot removes every pod not named (the node agent's reconciliation after a
 *   (re)connect) — `snapshot-ended`. Several sessions may overlap (a proxy's rolling update: the
 *   node agent serves each connection its own snapshot); abandonSnapshot drops an unfinished one.
 * Events fire after the state changed. The registry owns every fd handed to add().
 */
import { EventEmitter } from 'node:events';

export interface ZdsPod {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** the agent's fd of the pod's network namespace (owned by the registry) */
  readonly netnsFd: number;
  /** `/proc/self/fd/N`: opens (or setns-es into) the pod's netns while the pod exists */
  readonly netnsPath: string;
  readonly netnsInode: bigint;
  /** the proxy acknowledged the Add (or its listener appeared after a refusal) */
  readonly confirmed: boolean;
  /** the proxy refused the Add and has not served the pod since (it retries by itself) */
  readonly pending: boolean;
  /** the process of the proxy that last acknowledged (or served) the pod, when known: its listener is the one to use */
  readonly proxyPid?: number;
}

export type PodRemovalReason = 'deleted' | 'not-in-snapshot' | 'netns-replaced' | 'stopped';

export interface PodRegistryEvents {
  added: [ZdsPod];
  confirmed: [ZdsPod];
  /** the proxy refused the Add: kept, not confirmed */
  pending: [ZdsPod];
  removed: [ZdsPod, PodRemovalReason];
  /** a snapshot ended (SnapshotSent): the pods it dropped were removed first */
  'snapshot-ended': [{ readonly dropped: readonly ZdsPod[] }];
}

export interface PodRegistryDeps {
  /** closes an fd the registry owns (default: fs.closeSync) */
  readonly closeFd: (fd: number) => void;
}

export interface AddPodInput {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export class PodRegistry extends EventEmitter<PodRegistryEvents> {
  readonly #pods = new Map<string, ZdsPod>();
  readonly #closeFd: (fd: number) => void;
  /** the pods named by each proxy session's snapshot in progress */
  readonly #named = new Map<number, Set<string>>();

  constructor(deps: PodRegistryDeps) {
    super();
    this.#closeFd = deps.closeFd;
  }

  get size(): number {
    return this.#pods.size;
  }

  get(uid: string): ZdsPod | undefined {
    return this.#pods.get(uid);
  }

  list(): ZdsPod[] {
    return [...this.#pods.values()];
  }

  /** Whether a snapshot is being received (between beginSnapshot and endSnapshot of some session). */
  get inSnapshot(): boolean {
    return this.#named.size > 0;
  }

  #name(uid: string): void {
    for (const named of this.#named.values()) named.add(uid);
  }

  /** Learn a pod; takes ownership of `netnsFd`. */
  add(pod: AddPodInput, netnsFd: number, netnsInode: bigint): 'added' | 'refreshed' {
    this.#name(pod.uid);
    const old = this.#pods.get(pod.uid);
    if (old && old.netnsInode === netnsInode) {
      this.#closeFd(netnsFd);
      this.#pods.set(pod.uid, { ...old, name: pod.name, namespace: pod.namespace, serviceAccount: pod.serviceAccount });
      return 'refreshed';
    }
    if (old) this.#remove(old, 'netns-replaced');
    const entry: ZdsPod = {
      uid: pod.uid,
      name: pod.name,
      namespace: pod.namespace,
      serviceAccount: pod.serviceAccount,
      netnsFd,
      netnsPath: `/proc/self/fd/${netnsFd}`,
      netnsInode,
      confirmed: false,
      pending: false,
    };
    this.#pods.set(pod.uid, entry);
    this.emit('added', entry);
    return 'added';
  }

  /** The proxy (process `proxyPid`, when known) acknowledged the Add of `uid` with netns `netnsInode`. */
  confirm(uid: string, netnsInode: bigint, proxyPid?: number): ZdsPod | undefined {
    const pod = this.#pods.get(uid);
    if (!pod || pod.netnsInode !== netnsInode) return undefined;
    const confirmed = { ...pod, confirmed: true, pending: false, ...(proxyPid !== undefined && { proxyPid }) };
    this.#pods.set(uid, confirmed);
    this.emit('confirmed', confirmed);
    return confirmed;
  }

  /**
   * The proxy refused the Add of `uid` with netns `netnsInode`: the pod is kept pending (see the
   * module comment). 'confirmed': another proxy serves it, it stays so; undefined: no such pod.
   */
  reject(uid: string, netnsInode: bigint): 'pending' | 'confirmed' | undefined {
    const pod = this.#pods.get(uid);
    if (!pod || pod.netnsInode !== netnsInode) return undefined;
    if (pod.confirmed) return 'confirmed';
    const pending = { ...pod, pending: true };
    this.#pods.set(uid, pending);
    this.emit('pending', pending);
    return 'pending';
  }

  /** KeepWorkload: names `uid` in the running snapshot; false when the pod is unknown. */
  keep(uid: string): boolean {
    this.#name(uid);
    return this.#pods.has(uid);
  }

  /** DelWorkload: false when the pod is unknown. */
  del(uid: string): boolean {
    const pod = this.#pods.get(uid);
    if (!pod) return false;
    this.#remove(pod, 'deleted');
    return true;
  }

  /** Session `session`'s node-agent stream starts: the pods named from now on until its endSnapshot are kept. */
  beginSnapshot(session = 0): void {
    this.#named.set(session, new Set());
  }

  /** Session `session` ended before its SnapshotSent: its snapshot reconciles nothing. */
  abandonSnapshot(session = 0): void {
    this.#named.delete(session);
  }

  /** SnapshotSent of `session`: removes the pods not named since its beginSnapshot (none without one). */
  endSnapshot(session = 0): ZdsPod[] {
    const named = this.#named.get(session);
    this.#named.delete(session);
    if (!named) return [];
    const gone = this.list().filter((p) => !named.has(p.uid));
    for (const pod of gone) this.#remove(pod, 'not-in-snapshot');
    this.emit('snapshot-ended', { dropped: gone });
    return gone;
  }

  /** Forget every pod (closing their fds). */
  clear(): void {
    this.#named.clear();
    for (const pod of this.list()) this.#remove(pod, 'stopped');
  }

  #remove(pod: ZdsPod, reason: PodRemovalReason): void {
    this.#pods.delete(pod.uid);
    try {
      this.#closeFd(pod.netnsFd);
    } finally {
      this.emit('removed', pod, reason);
    }
  }
}
