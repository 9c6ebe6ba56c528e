/**
 * The intents plugin-sklookup consumes (PROVISIONAL kinds: their names and fields may still change
 * while issue 4's sources are written):
 *
 *   { kind: 'mesh.member', address }                       an address of a mesh workload (HBONE), anywhere
 *   { kind: 'sklookup.pod', uid, netns, addresses, socketFds? }
 *       a meshed pod on this node: its network namespace (a path the source keeps valid, e.g.
 *       /proc/<pid>/fd/<n> of an fd it holds, or /var/run/netns/NAME), its addresses, and the proxy's
 *       HBONE listening sockets for it (fds open in this process, held by the source; the kernel map
 *       keeps a reference to the socket itself, not to the fd): at most one per address family. Each
 *       address is steered to a listener of its family: an IPv4 address to the IPv4 listener, else to
 *       a dual-stack IPv6 one; an IPv6 address to the IPv6 listener. An address without a listener
 *       of its family has no socket entry (its connections take the normal lookup).
 *         socketFds absent: the socket entries already in the map for the pod's addresses are kept
 *           (e.g. after an agent restart, until the listeners are found again); none is created.
 *         socketFds: []: the pod has no listener (e.g. its proxy exited): its socket entries go.
 *       `socketFd: n` (the first form of this contract) is still accepted and means `socketFds: [n]`.
 *
 * readDesiredMesh turns the desired state into a validated DesiredMesh (pure; InvalidArgumentError
 * on anything wrong, naming the intent).
 */
import type { DesiredState, Intent } from '@bpfsteer/agent-kernel';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { z } from 'zod';
import { MeshKeyCache, meshKey } from './mesh-address.js';
import { checkUid } from './pod-pin-name.js';

export const MESH_MEMBER_KIND = 'mesh.member';
export const SKLOOKUP_POD_KIND = 'sklookup.pod';

function validWith(check: (v: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

const addressSchema = z.string().superRefine(validWith((v) => meshKey(v)));

/** One `mesh.member` intent (without `kind`). */
export const meshMemberIntentSchema = z.strictObject({ address: addressSchema });

const fdSchema = z.number().int().min(0).max(0x7fffffff);

/** At most one listener per address family. */
export const MAX_POD_SOCKETS = 2;

/** One `sklookup.pod` intent (without `kind`). */
export const sklookupPodIntentSchema = z
  .strictObject({
    uid: z.string().superRefine(validWith(checkUid)),
    netns: z.string().min(1, 'netns: give the path of the pod network namespace (e.g. /proc/<pid>/fd/<n>) or its name'),
    addresses: z.array(addressSchema).min(1, 'addresses: a pod needs at least one address'),
    socketFds: z
      .array(fdSchema)
      .max(MAX_POD_SOCKETS, `socketFds: at most ${MAX_POD_SOCKETS} listeners (one per address family)`)
      .refine((l) => new Set(l).size === l.length, 'socketFds: each fd may be listed once')
      .optional(),
    /** the first form of the contract: the same as socketFds: [socketFd] */
    socketFd: fdSchema.optional(),
  })
  .refine((p) => p.socketFd === undefined || p.socketFds === undefined, {
    message: 'give socketFds or (the older form) socketFd, not both',
    path: ['socketFd'],
  });

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
