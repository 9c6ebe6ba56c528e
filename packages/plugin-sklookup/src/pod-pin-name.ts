/**
 * File names of the pinned sk_lookup links: `pod-<slot>-<uid>`, with every character of the uid
 * outside [A-Za-z0-9_-] written as %HH (UTF-8 bytes): bpffs refuses names containing '.', and
 * Istio uids contain '/' ("cluster//Pod/ns/name"). The slot in the name lets a restarted agent find
 * the pod's counters and addresses again.
 */
import { podUidProblem } from '@bpfsteer/contract-mesh/kinds';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';

/** Longest pin name accepted (bpffs allows 255 bytes; room is left for the prefix). */
export const MAX_PIN_NAME = 240;

const SAFE = /[A-Za-z0-9_-]/;

export function encodeUid(uid: string): string {
  let out = '';
  for (const ch of uid) {
    if (SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeUid(encoded: string): string | undefined {
  if (!/^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/.test(encoded)) return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

/** Throws InvalidArgumentError when `uid` is not a pod uid (@bpfsteer/contract-mesh) or cannot name a pin. */
export function checkUid(uid: string): void {
  const problem = podUidProblem(uid);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  const name = pinName(uid, 65535);
  if (name.length > MAX_PIN_NAME) {
    throw new InvalidArgumentError(
      `pod uid ${JSON.stringify(uid.slice(0, 40))}... is too long: its pin name would have ${name.length} characters (at most ${MAX_PIN_NAME}; characters outside [A-Za-z0-9_-] take 3)`,
    );
  }
}

export function pinName(uid: string, slot: number): string {
  return `pod-${slot}-${encodeUid(uid)}`;
}

/** The pod a pin name stands for, or undefined for a name this plugin does not write. */
export function parsePinName(name: string): { uid: string; slot: number } | undefined {
  const m = /^pod-([1-9][0-9]{0,4})-(.+)$/.exec(name);
  if (!m) return undefined;
  const uid = decodeUid(m[2]);
  // only the canonical spelling is ours (an uid has exactly one pin name per slot)
  return uid === undefined || pinName(uid, Number(m[1])) !== name ? undefined : { uid, slot: Number(m[1]) };
}
