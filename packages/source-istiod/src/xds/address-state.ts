/**
 * The local copy of Istiod's `istio.workload.Address` resources, and the translation of one decoded
 * Address into it (validated: every address must be 4 or 16 bytes).
 */
import { familyOfBytes, formatIp } from '@bpfsteer/ip';
import { PersistentMap } from './persistent-map.js';
import type { RawAddress, RawPort, RawService, RawWorkload } from './xds-messages.js';

export interface PortMapping {
  readonly servicePort: number;
  readonly targetPort: number;
}

export interface WorkloadInfo {
  /** globally unique id; the resource name */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** IP addresses in text form (IPv4 dotted, IPv6 canonical) */
  readonly addresses: readonly string[];
  readonly hostname: string;
  readonly network: string;
  /** 'NONE' | 'HBONE' | 'LEGACY_ISTIO_MTLS' (or the number of an unknown value, as text) */
  readonly tunnelProtocol: string;
  readonly trustDomain: string;
  readonly serviceAccount: string;
  /** the Kubernetes node it runs on */
  readonly node: string;
  readonly clusterId: string;
  /** 'HEALTHY' | 'UNHEALTHY' */
  readonly status: string;
  /** 'STANDARD' | 'HOST_NETWORK' */
  readonly networkMode: string;
  /** services it backs: "namespace/hostname" -> ports */
  readonly services: Readonly<Record<string, readonly PortMapping[]>>;
}

export interface ServiceInfo {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  /** `length`: the prefix length when the address is a range (NetworkAddress.length, Istio 1.30+) */
  readonly addresses: readonly { readonly network: string; readonly address: string; readonly length?: number }[];
  readonly ports: readonly PortMapping[];
}

/** One resource held: its name and version as Istiod sent them, and what it is. */
export type AddressEntry =
  | { readonly name: string; readonly version: string; readonly kind: 'workload'; readonly workload: WorkloadInfo }
  | { readonly name: string; readonly version: string; readonly kind: 'service'; readonly service: ServiceInfo };

/** Everything the client holds, by resource name (a workload's uid, a service's "namespace/hostname"). */
export interface AddressState {
  /** any ReadonlyMap; applyDeltaResponse returns a PersistentMap (structurally shared between states) */
  readonly resources: ReadonlyMap<string, AddressEntry>;
}

export const emptyAddressState: AddressState = { resources: PersistentMap.empty<AddressEntry>() };

/** name -> version of every resource held (what a re-opened stream sends as initial_resource_versions). */
export function resourceVersions(state: AddressState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, entry] of state.resources) out[name] = entry.version;
  return out;
}

/** The workloads held, in resource-name order of arrival. */
export function* workloadsOf(state: AddressState): Iterable<WorkloadInfo> {
  for (const entry of state.resources.values()) if (entry.kind === 'workload') yield entry.workload;
}

/** The services held. */
export function* servicesOf(state: AddressState): Iterable<ServiceInfo> {
  for (const entry of state.resources.values()) if (entry.kind === 'service') yield entry.service;
}

export type Translated<T> = { ok: true; value: T } | { ok: false; error: string };

const ports = (list: readonly RawPort[]): PortMapping[] =>
  list.map((p) => ({ servicePort: p.service_port, targetPort: p.target_port }));

function translateWorkload(name: string, raw: RawWorkload): Translated<WorkloadInfo> {
  const addresses: string[] = [];
  for (const [index, bytes] of raw.addresses.entries()) {
    const text = familyOfBytes(bytes) === undefined ? undefined : formatIp(bytes);
    if (text === undefined) {
      return {
        ok: false,
        error: `workload "${name}": address ${index} has ${bytes.length} bytes (accepted: 4 for IPv4, 16 for IPv6)`,
      };
    }
    addresses.push(text);
  }
  const services: Record<string, PortMapping[]> = {};
  for (const [key, list] of Object.entries(raw.services)) services[key] = ports(list.ports);
  return {
    ok: true,
    value: {
      uid: raw.uid || name,
      name: raw.name,
      namespace: raw.namespace,
      addresses,
      hostname: raw.hostname,
      network: raw.network,
      tunnelProtocol: String(raw.tunnel_protocol),
      trustDomain: raw.trust_domain,
      serviceAccount: raw.service_account,
      node: raw.node,
      clusterId: raw.cluster_id,
      status: String(raw.status),
      networkMode: String(raw.network_mode),
      services,
    },
  };
}

function translateService(name: string, raw: RawService): Translated<ServiceInfo> {
  const addresses: { network: string; address: string; length?: number }[] = [];
  for (const [index, entry] of raw.addresses.entries()) {
    const text = familyOfBytes(entry.address) === undefined ? undefined : formatIp(entry.address);
    if (text === undefined) {
      return {
        ok: false,
        error: `service "${name}": address ${index} has ${entry.address.length} bytes (accepted: 4 for IPv4, 16 for IPv6)`,
      };
    }
    const bits = text.includes(':') ? 128 : 32;
    if (entry.length !== undefined && entry.length !== null && (entry.length > bits || entry.length < 0)) {
      return { ok: false, error: `service "${name}": address ${index} ${text} has prefix length ${entry.length} (at most ${bits})` };
    }
    addresses.push({ network: entry.network, address: text, ...(entry.length !== undefined && entry.length !== null && { length: entry.length }) });
  }
  return {
    ok: true,
    value: { name: raw.name, namespace: raw.namespace, hostname: raw.hostname, addresses, ports: ports(raw.ports) },
  };
}

/** One decoded Address resource -> the entry held for it, or why it is rejected. */
export function translateAddress(name: string, version: string, raw: RawAddress): Translated<AddressEntry> {
  if (raw.workload) {
    const workload = translateWorkload(name, raw.workload);
    return workload.ok ? { ok: true, value: { name, version, kind: 'workload', workload: workload.value } } : workload;
  }
  if (raw.service) {
    const service = translateService(name, raw.service);
    return service.ok ? { ok: true, value: { name, version, kind: 'service', service: service.value } } : service;
  }
  return { ok: false, error: `resource "${name}": the Address holds neither a workload nor a service` };
}
