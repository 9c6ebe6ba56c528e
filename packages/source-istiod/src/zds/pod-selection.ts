/**
 * Which pods become `sklookup.pod` intents (pure): those the proxy acknowledged, with at least one
 * address, whose addresses and network namespace no other pod claims. Two pods claiming the same
 * address or namespace mean one of them is stale (its Del has not arrived yet); neither can be
 * trusted, so both are left out (their connections take the normal lookup) and reported, instead of
 * a snapshot the plugin would refuse as a whole.
 */
import type { PodNetwork } from './hbone-listeners.js';

export interface SkippedPod {
  readonly uid: string;
  readonly reason: string;
}

export interface PodSelection {
  readonly pods: readonly PodNetwork[];
  readonly skipped: readonly SkippedPod[];
}

export function selectPods(all: readonly PodNetwork[]): PodSelection {
  const skipped: SkippedPod[] = [];
  const confirmed = all.filter((p) => p.confirmed);
  const candidates = confirmed.filter((p) => {
    if (p.addresses.length > 0) return true;
    skipped.push({ uid: p.uid, reason: 'no address found in its network namespace' });
    return false;
  });
  const byAddress = new Map<string, string[]>();
  const byNetns = new Map<bigint, string[]>();
  for (const p of candidates) {
    for (const a of new Set(p.addresses)) byAddress.set(a, [...(byAddress.get(a) ?? []), p.uid]);
    byNetns.set(p.netnsInode, [...(byNetns.get(p.netnsInode) ?? []), p.uid]);
  }
  const pods = candidates.filter((p) => {
    const others = new Set<string>();
    for (const a of p.addresses) for (const uid of byAddress.get(a) ?? []) if (uid !== p.uid) others.add(uid);
    if (others.size > 0) {
      skipped.push({ uid: p.uid, reason: `shares an address with pod(s) ${[...others].sort().join(', ')}` });
      return false;
    }
    const sameNetns = (byNetns.get(p.netnsInode) ?? []).filter((uid) => uid !== p.uid);
    if (sameNetns.length > 0) {
      skipped.push({ uid: p.uid, reason: `shares its network namespace with pod(s) ${sameNetns.sort().join(', ')}` });
      return false;
    }
    return true;
  });
  return { pods, skipped: skipped.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0)) };
}
