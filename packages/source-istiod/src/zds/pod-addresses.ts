/**
 * A pod's own IP addresses, read from inside its network namespace: every address of every
 * interface, without loopback and link-local ones.
 */
import { type InterfaceAddress, interfaceAddresses, interfaceNames, NetnsHandle, withNetns } from '@bpfsteer/core-bpf';

const LOOPBACK_OR_LINK_LOCAL = [/^127\./, /^169\.254\./, /^::1$/, /^fe[89ab][0-9a-f]:/i];

/** The addresses that identify a pod (pure): no loopback, no link-local, no duplicates, sorted. */
export function podAddressesOf(addresses: readonly Pick<InterfaceAddress, 'address'>[]): string[] {
  const out = new Set<string>();
  for (const { address } of addresses) {
    if (!LOOPBACK_OR_LINK_LOCAL.some((re) => re.test(address))) out.add(address);
  }
  return [...out].sort();
}

/** The addresses of the pod whose network namespace is at `netnsPath` (e.g. /proc/self/fd/N). */
export function readPodAddresses(netnsPath: string): string[] {
  const handle = NetnsHandle.open(netnsPath);
  try {
    return podAddressesOf(withNetns(handle, () => interfaceNames().flatMap((name) => interfaceAddresses(name))));
  } finally {
    handle.close();
  }
}
