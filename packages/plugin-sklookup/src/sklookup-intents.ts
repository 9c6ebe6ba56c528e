/**
 * The desired state of plugin-sklookup: the `mesh.member` and `sklookup.pod` intents, whose kinds and
 * schemas @bpfsteer/contract-mesh defines, read into a validated DesiredMesh (pure;
 * InvalidArgumentError on anything wrong, naming the intent, and on more than the capacity).
 */
import type { DesiredState, Intent } from '@bpfsteer/agent-kernel';
import { MAX_POD_SOCKETS, MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { MeshKeyCache, meshKey } from './mesh-address.js';
import { checkUid } from './pod-pin-name.js';

export interface DesiredPod {
  readonly uid: string;
  readonly netns: string;
  /** mesh keys, sorted, without duplicates */
  readonly addresses: readonly string[];
  /** the HBONE listeners (at most one per family); undefined: keep the socket entries the pod has */
  readonly socketFds?: readonly number[];
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

const isFd = (fd: unknown): fd is number => typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff;

/** The listeners of a pod intent (socketFds, or the older socketFd); undefined when it names none. */
function socketFdsOf(intent: Intent, at: string): readonly number[] | undefined {
  const { socketFds, socketFd } = intent;
  if (socketFds !== undefined && socketFd !== undefined) throw new InvalidArgumentError(`${at}: give socketFds or (the older form) socketFd, not both`);
  if (socketFd !== undefined) {
    if (!isFd(socketFd)) throw new InvalidArgumentError(`${at}: socketFd must be an open file descriptor number, got ${JSON.stringify(socketFd)}`);
    return [socketFd];
  }
  if (socketFds === undefined) return undefined;
  if (!Array.isArray(socketFds) || !socketFds.every(isFd)) {
    throw new InvalidArgumentError(`${at}: socketFds must be a list of open file descriptor numbers, got ${JSON.stringify(socketFds)}`);
  }
  if (socketFds.length > MAX_POD_SOCKETS) {
    throw new InvalidArgumentError(`${at}: socketFds lists ${socketFds.length} listeners; at most ${MAX_POD_SOCKETS} (one per address family)`);
  }
  if (new Set(socketFds).size !== socketFds.length) throw new InvalidArgumentError(`${at}: socketFds lists an fd twice`);
  return [...socketFds];
}

/**
 * The validated desired mesh; throws InvalidArgumentError (nothing is partially accepted). With
 * `keys` the address texts are parsed once and remembered for the next desired state.
 */
export function readDesiredMesh(desired: DesiredState, capacity: MeshCapacity, keys?: MeshKeyCache): DesiredMesh {
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
    const netns = intent.netns;
    if (typeof netns !== 'string' || netns === '') throw new InvalidArgumentError(`${at} (pod ${uid}): netns must be a non-empty path or name`);
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
    const socketFds = socketFdsOf(intent, `${at} (pod ${uid})`);
    addressCount += addresses.length;
    pods.set(uid, { uid, netns, addresses, ...(socketFds !== undefined ? { socketFds } : {}) });
  });
  if (pods.size > capacity.maxPods) {
    throw new InvalidArgumentError(`${pods.size} pods exceed the capacity of ${capacity.maxPods} (maxPods)`);
  }
  if (addressCount > capacity.maxPodAddresses) {
    throw new InvalidArgumentError(`${addressCount} pod addresses exceed the capacity of ${capacity.maxPodAddresses} (maxPodAddresses)`);
  }
  return { members, pods };
}
