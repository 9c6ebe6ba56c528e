/**
 * The pods the agent learned from the ZDS stream, each with the agent's own duplicate of its
 * network namespace fd (kept open while the pod exists, so the namespace cannot vanish under the
 * agent and `/proc/self/fd/N` names it).
 *
 * - add: a new pod (or a pod whose netns changed: the old fd is closed) — `added`; the same pod
 *   with the same netns only refreshes its name/namespace/service account.
 * - confirm / reject: the proxy acknowledged or refused the Add — `confirmed`, or the pod is removed.
 * - del: the pod is removed and its fd closed — `removed`.
 * - beginSnapshot/endSnapshot: between them every add/keep names a pod; endSnapshot removes every
 *   pod not named (the node agent's reconciliation after a (re)connect) — `snapshot-ended`.
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
  /** the proxy acknowledged the Add */
  readonly confirmed: boolean;
}

export type PodRemovalReason = 'deleted' | 'not-in-snapshot' | 'rejected-by-proxy' | 'netns-replaced' | 'stopped';

export interface PodRegistryEvents {
  added: [ZdsPod];
  confirmed: [ZdsPod];
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
  #named: Set<string> | undefined;

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

  /** Whether a snapshot is being received (between beginSnapshot and endSnapshot). */
  get inSnapshot(): boolean {
    return this.#named !== undefined;
  }

  /** Learn a pod; takes ownership of `netnsFd`. */
  add(pod: AddPodInput, netnsFd: number, netnsInode: bigint): 'added' | 'refreshed' {
    this.#named?.add(pod.uid);
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
    };
    this.#pods.set(pod.uid, entry);
    this.emit('added', entry);
    return 'added';
  }

  /** The proxy acknowledged the Add of `uid` with netns `netnsInode`. */
  confirm(uid: string, netnsInode: bigint): ZdsPod | undefined {
    const pod = this.#pods.get(uid);
    if (!pod || pod.netnsInode !== netnsInode) return undefined;
    const confirmed = { ...pod, confirmed: true };
    this.#pods.set(uid, confirmed);
    this.emit('confirmed', confirmed);
    return confirmed;
  }

  /** The proxy refused the Add of `uid` with netns `netnsInode`: forget that pod. */
  reject(uid: string, netnsInode: bigint): boolean {
    const pod = this.#pods.get(uid);
    if (!pod || pod.netnsInode !== netnsInode) return false;
    this.#remove(pod, 'rejected-by-proxy');
    return true;
  }

  /** KeepWorkload: names `uid` in the running snapshot; false when the pod is unknown. */
  keep(uid: string): boolean {
    this.#named?.add(uid);
    return this.#pods.has(uid);
  }

  /** DelWorkload: false when the pod is unknown. */
  del(uid: string): boolean {
    const pod = this.#pods.get(uid);
    if (!pod) return false;
    this.#remove(pod, 'deleted');
    return true;
  }

  /** A new node-agent stream starts: the pods it names from now on until endSnapshot are kept. */
  beginSnapshot(): void {
    this.#named = new Set();
  }

  /** SnapshotSent: removes the pods not named since beginSnapshot (none without one). */
  endSnapshot(): ZdsPod[] {
    const named = this.#named;
    this.#named = undefined;
    if (!named) return [];
    const gone = this.list().filter((p) => !named.has(p.uid));
    for (const pod of gone) this.#remove(pod, 'not-in-snapshot');
    this.emit('snapshot-ended', { dropped: gone });
    return gone;
  }

  /** Forget every pod (closing their fds). */
  clear(): void {
    this.#named = undefined;
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
