/**
 * The desired state of plugin-sklookup: the `mesh.member` and `sklookup.pod` intents, whose kinds and
 * schemas @bpfsteer/contract-mesh defines, read into a validated DesiredMesh (pure but for the
 * handle resolver; InvalidArgumentError on anything wrong, naming the intent, and on more than the
 * capacity). Socket handles (`netnsHandle`, `socketHandles`) are resolved to the fds the agent's
 * registry holds: a namespace handle becomes the path `/proc/self/fd/N` of its fd.
 */
import type { DesiredState, Intent } from '@bpfsteer/agent-kernel/plugin-kit';
import { MAX_POD_SOCKETS, MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh/kinds';
import { InvalidArgumentError, type SocketHandleResolver } from '@bpfsteer/core-bpf';
import { MeshKeyCache, meshKey } from './mesh-address.js';
import { checkUid } from './pod-pin-name.js';

export interface DesiredPod {
  readonly uid: string;
  /** the path the namespace opens by (a handle's `/proc/self/fd/N`, or the intent's netns) */
  readonly netns: string;
  /** mesh keys, sorted, without duplicates */
  readonly addresses: readonly string[];
  /** the HBONE listeners' fds (at most one per family); undefined: keep the socket entries the pod has */
  readonly socketFds?: readonly number[];
  /** the handles they were named by, in the same order */
  readonly socketHandles?: readonly string[];
}

export interface DesiredMesh {
  /** mesh keys */
  readonly members: ReadonlySet<string>;
  readonly pods: ReadonlyMap<string, DesiredPod>;
}

export interface MeshCapacity {
  readonly maxMembers: number;
  readonly maxPods: number;
  readonly maxPodAddresses: number;
}

function where(kind: string, i: number): string {
  return `${kind} intent #${i + 1}`;
}

/** The fd of `handle`, or InvalidArgumentError naming the field and why. */
function resolveHandle(handles: SocketHandleResolver | undefined, handle: unknown, at: string): number {
  if (typeof handle !== 'string') throw new InvalidArgumentError(`${at} must be a socket handle ("h:<n>"), got ${JSON.stringify(handle)}`);
  if (!handles) throw new InvalidArgumentError(`${at} ${handle}: the agent gave this plugin no socket-handle registry (Tokens.SocketHandles)`);
  try {
    return handles.fd(handle);
  } catch (err) {
    throw new InvalidArgumentError(`${at} ${handle}: ${(err as Error).message}`);
  }
}

/** The listeners of a pod intent (its socketHandles, resolved); undefined when it names none. */
function socketsOf(intent: Intent, at: string, handles: SocketHandleResolver | undefined): { fds: number[]; handles: string[] } | undefined {
  const { socketHandles } = intent;
  if (intent.socketFds !== undefined || intent.socketFd !== undefined) {
    throw new InvalidArgumentError(`${at}: socketFds/socketFd (fd numbers) are no longer accepted; name the listeners by socketHandles`);
  }
  if (socketHandles === undefined) return undefined;
  if (!Array.isArray(socketHandles)) throw new InvalidArgumentError(`${at}: socketHandles must be a list of socket handles, got ${JSON.stringify(socketHandles)}`);
  if (socketHandles.length > MAX_POD_SOCKETS) {
    throw new InvalidArgumentError(`${at}: socketHandles lists ${socketHandles.length} listeners; at most ${MAX_POD_SOCKETS} (one per address family)`);
  }
  if (new Set(socketHandles).size !== socketHandles.length) throw new InvalidArgumentError(`${at}: socketHandles lists a handle twice`);
  const fds = socketHandles.map((h) => resolveHandle(handles, h, `${at}: socket handle`));
  return { fds, handles: [...(socketHandles as string[])] };
}

/** The path of a pod intent's namespace: its netnsHandle's fd, or its netns path or name. */
function netnsOf(intent: Intent, at: string, handles: SocketHandleResolver | undefined): string {
  const { netns, netnsHandle } = intent;
  if ((netns === undefined) === (netnsHandle === undefined)) throw new InvalidArgumentError(`${at}: give netnsHandle or netns, exactly one of them`);
  if (netnsHandle !== undefined) return `/proc/self/fd/${resolveHandle(handles, netnsHandle, `${at}: netnsHandle`)}`;
  if (typeof netns !== 'string' || netns === '') throw new InvalidArgumentError(`${at}: netns must be a non-empty path or name`);
  return netns;
}

/**
 * The validated desired mesh; throws InvalidArgumentError (nothing is partially accepted). With
 * `keys` the address texts are parsed once and remembered for the next desired state; `handles`
 * resolves the socket handles the pods name.
 */
export function readDesiredMesh(desired: DesiredState, capacity: MeshCapacity, keys?: MeshKeyCache, handles?: SocketHandleResolver): DesiredMesh {
  const key = (address: string, what: () => string): string => (keys ? keys.key(address, what) : meshKey(address, what()));
  const members = new Set<string>();
  const memberIntents = desired.get(MESH_MEMBER_KIND) ?? [];
  for (let i = 0; i < memberIntents.length; i++) {
    const address = memberIntents[i].address as string;
    members.add(key(address, () => `${where(MESH_MEMBER_KIND, i)}: address`));
  }
  if (members.size > capacity.maxMembers) {
    throw new InvalidArgumentError(`${members.size} mesh member addresses exceed the capacity of ${capacity.maxMembers} (maxMembers)`);
  }
  const pods = new Map<string, DesiredPod>();
  const owner = new Map<string, string>();
  let addressCount = 0;
  (desired.get(SKLOOKUP_POD_KIND) ?? []).forEach((intent, i) => {
    const at = where(SKLOOKUP_POD_KIND, i);
    const uid = intent.uid;
    if (typeof uid !== 'string') throw new InvalidArgumentError(`${at}: uid must be a string`);
    try {
      checkUid(uid);
    } catch (err) {
      throw new InvalidArgumentError(`${at}: ${(err as Error).message}`);
    }
    if (pods.has(uid)) throw new InvalidArgumentError(`${at}: pod uid ${JSON.stringify(uid)} is listed twice; each pod must appear once`);
    const netns = netnsOf(intent, `${at} (pod ${uid})`, handles);
    const list = intent.addresses;
    if (!Array.isArray(list) || list.length === 0) throw new InvalidArgumentError(`${at} (pod ${uid}): addresses must list at least one address`);
    const addresses = [...new Set(list.map((a) => key(a as string, () => `${at} (pod ${uid}): address`)))].sort();
    for (const a of addresses) {
      const other = owner.get(a);
      if (other !== undefined) {
        throw new InvalidArgumentError(`${at}: address ${a} of pod ${JSON.stringify(uid)} also belongs to pod ${JSON.stringify(other)}; an address has one pod`);
      }
      owner.set(a, uid);
    }
    const sockets = socketsOf(intent, `${at} (pod ${uid})`, handles);
    addressCount += addresses.length;
    pods.set(uid, { uid, netns, addresses, ...(sockets !== undefined ? { socketFds: sockets.fds, socketHandles: sockets.handles } : {}) });
  });
  if (pods.size > capacity.maxPods) {
    throw new InvalidArgumentError(`${pods.size} pods exceed the capacity of ${capacity.maxPods} (maxPods)`);
  }
  if (addressCount > capacity.maxPodAddresses) {
    throw new InvalidArgumentError(`${addressCount} pod addresses exceed the capacity of ${capacity.maxPodAddresses} (maxPodAddresses)`);
  }
  return { members, pods };
}
