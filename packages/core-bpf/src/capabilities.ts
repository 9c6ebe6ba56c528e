/**
 * The capabilities this process holds (the effective set of /proc/self/status), so that a refusal
 * can name its real cause: a kernel answers EPERM, and a probe a plain "no", when the caller lacks
 * the privilege, not the feature.
 */
import { readFileSync } from 'node:fs';

/** The capabilities BPF work needs, by number (include/uapi/linux/capability.h). */
export const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, BPF: 39 } as const;
export type CapabilityName = keyof typeof CAP;

/** The effective set as a bit mask (from `text`, /proc/self/status by default); undefined when unreadable. */
export function effectiveCapabilities(text?: string): bigint | undefined {
  let status = text;
  if (status === undefined) {
    try {
      status = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/**
 * Why this process may not load BPF programs or create maps: undefined when it may (CAP_BPF or
 * CAP_SYS_ADMIN), or when the set cannot be read; else a sentence naming what it lacks.
 */
export function missingBpfPrivilege(caps: bigint | undefined = effectiveCapabilities()): string | undefined {
  if (caps === undefined) return undefined;
  const has = (c: CapabilityName) => (caps >> BigInt(CAP[c])) & 1n;
  if (has('BPF') || has('SYS_ADMIN')) return undefined;
  return 'the process has neither CAP_BPF nor CAP_SYS_ADMIN (run as root, or grant CAP_BPF and CAP_NET_ADMIN)';
}
