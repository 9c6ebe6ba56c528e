/**
 * The capabilities this process holds (the effective set of /proc/self/status), so that a refusal
 * can name its real cause: a kernel answers EPERM, and a probe a plain "no", when the caller lacks
 * the privilege, not the feature.
 */
import { readFileSync } from 'node:fs';

/** The capabilities BPF work needs, by number (include/uapi/linux/capability.h). */
export const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;
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

/** Whether the process holds `name` in its effective set (true when the set cannot be read: the kernel will tell). */
export function hasCapability(name: CapabilityName, caps: bigint | undefined = effectiveCapabilities()): boolean {
  return caps === undefined || ((caps >> BigInt(CAP[name])) & 1n) === 1n;
}

/**
 * Why this process may not load BPF programs or create maps: undefined when it may (CAP_BPF or
 * CAP_SYS_ADMIN), or when the set cannot be read; else a sentence naming what it lacks.
 */
export function missingBpfPrivilege(caps: bigint | undefined = effectiveCapabilities()): string | undefined {
  if (caps === undefined) return undefined;
  if (hasCapability('BPF', caps) || hasCapability('SYS_ADMIN', caps)) return undefined;
  return 'the process has neither CAP_BPF nor CAP_SYS_ADMIN (run as root, or grant CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)';
}

/**
 * Why the verifier holds this process's programs to its rules for unprivileged programs (no
 * pointer arithmetic that could leak through speculation, no pointer leaks): undefined when it has
 * CAP_PERFMON or CAP_SYS_ADMIN (the kernel's perfmon_capable()), or when the set cannot be read.
 */
export function missingVerifierPrivilege(caps: bigint | undefined = effectiveCapabilities()): string | undefined {
  if (caps === undefined || hasCapability('PERFMON', caps) || hasCapability('SYS_ADMIN', caps)) return undefined;
  return 'the process has neither CAP_PERFMON nor CAP_SYS_ADMIN (grant CAP_PERFMON with CAP_BPF and CAP_NET_ADMIN, or run as root)';
}
