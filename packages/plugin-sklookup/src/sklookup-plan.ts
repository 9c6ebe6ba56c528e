/**
 * The difference between what the sk_lookup maps and links hold and the desired mesh, as the
 * ordered writes that converge them (pure; the dataplane executes it):
 *   1. detach the links of pods that are gone, or whose network namespace changed;
 *   2. delete the socket and pod-address entries nobody wants, and the members that left the mesh
 *      (a workload leaving the mesh stops being diverted here, at once);
 *   3. add the new members, reset the counters of newly used slots, write pod addresses and
 *      sockets (maps are filled before a new link can see traffic);
 *   4. attach the links of new pods (and re-check adopted ones).
 */
import { isIpv4Key } from './mesh-address.js';
import type { DesiredPod } from './sklookup-intents.js';

/** A pod whose link this plugin holds (or whose pin it adopted after a restart). */
export interface AppliedPod {
  readonly uid: string;
  /** counter slot, 1..maxPods */
  readonly slot: number;
  /** netns path of the last attach; undefined for a pod adopted from its pin */
  readonly netns?: string;
  /** inode of the namespace its link is attached to; undefined until an adopted pin is re-checked */
  readonly netnsIno?: bigint;
  /** mesh keys, sorted */
  readonly addresses: readonly string[];
}

/** What the kernel holds. */
export interface KernelMesh {
  readonly members: ReadonlySet<string>;
  /** skl_pods: address -> slot */
  readonly podAddresses: ReadonlyMap<string, number>;
  /** skl_sockets: address -> socket cookie */
  readonly sockets: ReadonlyMap<string, bigint>;
  /** by uid */
  readonly pods: ReadonlyMap<string, AppliedPod>;
}

/** An HBONE listener of a pod as the system describes it. */
export interface ResolvedSocket {
  readonly fd: number;
  /** socket cookie (what the SOCKHASH reads back) */
  readonly cookie: bigint;
  readonly family: 4 | 6;
  /** IPv6 only: true when it takes no IPv4 connections */
  readonly v6Only: boolean;
}

/**
 * A desired pod with what only the system can tell: its namespace inode and its listeners
 * (undefined when the intent named none: the pod keeps the socket entries it has).
 */
export interface ResolvedPod extends DesiredPod {
  readonly netnsIno: bigint;
  readonly sockets?: readonly ResolvedSocket[];
}

/**
 * The listener a connection to `address` (a mesh key) is steered to: for an IPv4 address the IPv4
 * listener, else a dual-stack IPv6 one; for an IPv6 address the IPv6 listener (the kernel assigns
 * nothing else: an IPv4 socket cannot take IPv6, a v6-only one cannot take IPv4).
 */
export function socketFor(address: string, sockets: readonly ResolvedSocket[]): ResolvedSocket | undefined {
  if (isIpv4Key(address)) return sockets.find((s) => s.family === 4) ?? sockets.find((s) => s.family === 6 && !s.v6Only);
  return sockets.find((s) => s.family === 6);
}

export interface LinkAction {
  /** attach: a new link (new pod, or its namespace changed); adopt: re-check an adopted pin */
  readonly kind: 'attach' | 'adopt';
  readonly uid: string;
  readonly slot: number;
  readonly netns: string;
  readonly netnsIno: bigint;
}

export interface SocketWrite {
  readonly address: string;
  readonly uid: string;
  readonly fd: number;
  readonly cookie: bigint;
}

export interface SklookupPlan {
  readonly detach: readonly AppliedPod[];
  readonly deleteSockets: readonly string[];
  readonly deletePodAddresses: readonly string[];
  readonly removeMembers: readonly string[];
  readonly addMembers: readonly string[];
  readonly resetCounters: readonly number[];
  readonly setPodAddresses: readonly (readonly [string, number])[];
  readonly setSockets: readonly SocketWrite[];
  readonly links: readonly LinkAction[];
  /** the pods after the plan ran */
  readonly next: ReadonlyMap<string, AppliedPod>;
  readonly report: { readonly added: number; readonly updated: number; readonly removed: number };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Plans the way from `kernel` to `pods` + `members`; `maxPods` bounds the slots (1..maxPods). */
export function planSklookup(
  kernel: KernelMesh,
  pods: ReadonlyMap<string, ResolvedPod>,
  members: ReadonlySet<string>,
  maxPods: number,
): SklookupPlan {
  const detach: AppliedPod[] = [];
  const links: LinkAction[] = [];
  const resetCounters: number[] = [];
  const setPodAddresses: (readonly [string, number])[] = [];
  const setSockets: SocketWrite[] = [];
  const next = new Map<string, AppliedPod>();
  let added = 0;
  let updated = 0;

  // slots: pods that stay keep theirs; new pods take the lowest slot no pod (staying or leaving) has,
  // and only then a slot freed by a leaving pod
  const kept = new Set<number>();
  const leaving = new Set<number>();
  for (const p of kernel.pods.values()) (pods.has(p.uid) ? kept : leaving).add(p.slot);
  let cursor = 1;
  const freed = [...leaving].filter((s) => !kept.has(s)).sort((a, b) => a - b);
  const allocate = (): number => {
    while (cursor <= maxPods && (kept.has(cursor) || leaving.has(cursor))) cursor++;
    const slot = cursor <= maxPods ? cursor++ : freed.shift();
    if (slot === undefined) throw new RangeError(`planSklookup: more than ${maxPods} pods`);
    kept.add(slot);
    return slot;
  };

  const owner = new Map<string, string>();
  for (const pod of [...pods.values()].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0))) {
    for (const a of pod.addresses) owner.set(a, pod.uid);
    const prev = kernel.pods.get(pod.uid);
    let slot: number;
    let changed = false;
    if (prev) {
      slot = prev.slot;
      if (prev.netnsIno === undefined) {
        links.push({ kind: 'adopt', uid: pod.uid, slot, netns: pod.netns, netnsIno: pod.netnsIno });
      } else if (prev.netnsIno !== pod.netnsIno) {
        detach.push(prev);
        links.push({ kind: 'attach', uid: pod.uid, slot, netns: pod.netns, netnsIno: pod.netnsIno });
        changed = true;
      }
      if (!sameList(prev.addresses, pod.addresses)) changed = true;
    } else {
      slot = allocate();
      resetCounters.push(slot);
      links.push({ kind: 'attach', uid: pod.uid, slot, netns: pod.netns, netnsIno: pod.netnsIno });
      added++;
    }
    for (const a of pod.addresses) if (kernel.podAddresses.get(a) !== slot) setPodAddresses.push([a, slot]);
    if (pod.sockets !== undefined) {
      for (const a of pod.addresses) {
        const socket = socketFor(a, pod.sockets);
        const held = kernel.sockets.get(a);
        if (socket && held !== socket.cookie) {
          setSockets.push({ address: a, uid: pod.uid, fd: socket.fd, cookie: socket.cookie });
          if (prev) changed = true;
        } else if (!socket && held !== undefined && prev) {
          changed = true; // its entry goes (deleteSockets)
        }
      }
    }
    if (changed) updated++;
    next.set(pod.uid, { uid: pod.uid, slot, netns: pod.netns, netnsIno: pod.netnsIno, addresses: pod.addresses });
  }
  let removed = 0;
  for (const p of kernel.pods.values()) {
    if (!pods.has(p.uid)) {
      detach.push(p);
      removed++;
    }
  }

  const deletePodAddresses = [...kernel.podAddresses.keys()].filter((a) => !owner.has(a));
  const deleteSockets = [...kernel.sockets.keys()].filter((a) => {
    const uid = owner.get(a);
    if (uid === undefined) return true;
    const sockets = pods.get(uid)?.sockets;
    // listeners given: the entry is overwritten when it differs, and goes when none fits the address
    if (sockets !== undefined) return socketFor(a, sockets) === undefined;
    // none given: keep the entry only when this same pod had the address before
    return !(kernel.pods.get(uid)?.addresses.includes(a) ?? false);
  });
  const removeMembers = [...kernel.members].filter((m) => !members.has(m));
  const addMembers = [...members].filter((m) => !kernel.members.has(m));
  return {
    detach,
    deleteSockets,
    deletePodAddresses,
    removeMembers,
    addMembers,
    resetCounters,
    setPodAddresses,
    setSockets,
    links,
    next,
    report: { added: added + addMembers.length, updated, removed: removed + removeMembers.length },
  };
}

/**
 * The pods a restarted plugin finds: one per pinned link name (see pod-pin-name.ts), with the
 * addresses skl_pods maps to its slot. Pins naming a slot another pin already claimed are returned
 * as `foreign` (to be detached).
 */
export function adoptPods(
  pins: readonly { readonly name: string; readonly uid: string; readonly slot: number }[],
  podAddresses: ReadonlyMap<string, number>,
  maxPods: number,
): { pods: Map<string, AppliedPod>; foreign: string[] } {
  const pods = new Map<string, AppliedPod>();
  const slots = new Set<number>();
  const foreign: string[] = [];
  for (const pin of pins) {
    if (pin.slot < 1 || pin.slot > maxPods || slots.has(pin.slot) || pods.has(pin.uid)) {
      foreign.push(pin.name);
      continue;
    }
    slots.add(pin.slot);
    const addresses = [...podAddresses].filter(([, s]) => s === pin.slot).map(([a]) => a).sort();
    pods.set(pin.uid, { uid: pin.uid, slot: pin.slot, addresses });
  }
  return { pods, foreign };
}
