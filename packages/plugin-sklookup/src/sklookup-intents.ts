/**
 * The intents plugin-sklookup consumes (PROVISIONAL kinds: their names and fields may still change
 * while issue 4's sources are written):
 *
 *   { kind: 'mesh.member', address }                       an address of a mesh workload (HBONE), anywhere
 *   { kind: 'sklookup.pod', uid, netns, addresses, socketFd? }
 *       a meshed pod on this node: its network namespace (a path the source keeps valid, e.g.
 *       /proc/<pid>/fd/<n> of an fd it holds, or /var/run/netns/NAME), its addresses, and the proxy's
 *       HBONE listening socket for it (an fd open in this process, held by the source; the kernel
 *       map keeps a reference to the socket itself, not to the fd). Without socketFd the socket
 *       entries already in the map for the pod's addresses are kept (e.g. after an agent restart)
 *       and none is created.
 *
 * readDesiredMesh turns the desired state into a validated DesiredMesh (pure; InvalidArgumentError
 * on anything wrong, naming the intent).
 */
import type { DesiredState } from '@bpfsteer/agent-kernel';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { z } from 'zod';
import { meshKey } from './mesh-address.js';
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

/** One `sklookup.pod` intent (without `kind`). */
export const sklookupPodIntentSchema = z.strictObject({
  uid: z.string().superRefine(validWith(checkUid)),
  netns: z.string().min(1, 'netns: give the path of the pod network namespace (e.g. /proc/<pid>/fd/<n>) or its name'),
  addresses: z.array(addressSchema).min(1, 'addresses: a pod needs at least one address'),
  socketFd: z.number().int().min(0).max(0x7fffffff).optional(),
});

export interface DesiredPod {
  readonly uid: string;
  readonly netns: string;
  /** mesh keys, sorted, without duplicates */
  readonly addresses: readonly string[];
  readonly socketFd?: number;
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

/** The validated desired mesh; throws InvalidArgumentError (nothing is partially accepted). */
export function readDesiredMesh(desired: DesiredState, capacity: MeshCapacity): DesiredMesh {
  const members = new Set<string>();
  (desired.get(MESH_MEMBER_KIND) ?? []).forEach((intent, i) => {
    members.add(meshKey(intent.address as string, `${where(MESH_MEMBER_KIND, i)}: address`));
  });
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
    const addresses = [...new Set(list.map((a) => meshKey(a as string, `${at} (pod ${uid}): address`)))].sort();
    for (const a of addresses) {
      const other = owner.get(a);
      if (other !== undefined) {
        throw new InvalidArgumentError(`${at}: address ${a} of pod ${JSON.stringify(uid)} also belongs to pod ${JSON.stringify(other)}; an address has one pod`);
      }
      owner.set(a, uid);
    }
    const fd = intent.socketFd;
    if (fd !== undefined && (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff)) {
      throw new InvalidArgumentError(`${at} (pod ${uid}): socketFd must be an open file descriptor number, got ${JSON.stringify(fd)}`);
    }
    addressCount += addresses.length;
    pods.set(uid, { uid, netns, addresses, ...(fd !== undefined ? { socketFd: fd } : {}) });
  });
  if (pods.size > capacity.maxPods) {
    throw new InvalidArgumentError(`${pods.size} pods exceed the capacity of ${capacity.maxPods} (maxPods)`);
  }
  if (addressCount > capacity.maxPodAddresses) {
    throw new InvalidArgumentError(`${addressCount} pod addresses exceed the capacity of ${capacity.maxPodAddresses} (maxPodAddresses)`);
  }
  return { members, pods };
}
