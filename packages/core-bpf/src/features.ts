/**
 * Kernel feature probes, run on first request and cached for the life of the process. A probe never
 * changes the system (no mounts, no attachments).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { BPF } from './ffi/bpf-constants.js';
import { libbpf } from './ffi/libbpf-api.js';
import { ERRNO, errnoName, InvalidArgumentError, NotPermittedError, NotSupportedError } from './errors.js';
import { BPFFS_MAGIC } from './bpffs.js';
import { findCgroup2Mount } from './cgroup.js';
import { missingBpfPrivilege } from './capabilities.js';
import { type KnownMapType, mapTypeNumber } from './map-type.js';
import { type KnownProgramType, programTypeNumber } from './program-type.js';

export type Feature =
  | 'tc'
  | 'tcx'
  | 'netlink-tc'
  | 'redirect_neigh'
  | 'sk_lookup'
  | 'cgroup_skb'
  | 'cgroup_sock_addr'
  | 'cgroup_sockopt'
  | 'sockops'
  | 'cgroup2'
  | 'bpffs'
  | 'ringbuf'
  | 'lpm_trie'
  | 'sockmap'
  | 'sockhash';

export interface FeatureProbe {
  supported: boolean;
  detail?: string;
  /**
   * Why it is not supported: the kernel lacks it, or this process may not use it (no CAP_BPF /
   * CAP_SYS_ADMIN: the kernel refuses the probe itself with EPERM). Absent when supported.
   */
  reason?: 'kernel' | 'permission';
}

/** The kernel version each feature arrived in (for the NotSupportedError message). */
export const FEATURE_MIN_KERNEL: Record<Feature, string> = {
  // sched_cls programs (cls_bpf)
  tc: '4.1',
  tcx: '6.6',
  redirect_neigh: '5.10',
  // their attachment by netlink to the clsact qdisc's ingress and egress hooks
  'netlink-tc': '4.5',
  sk_lookup: '5.9',
  cgroup_skb: '4.10',
  cgroup_sock_addr: '4.17',
  cgroup_sockopt: '5.3',
  sockops: '4.13',
  cgroup2: '4.5',
  bpffs: '4.4',
  ringbuf: '5.8',
  lpm_trie: '4.11',
  sockmap: '4.14',
  sockhash: '4.18',
};

/**
 * A libbpf probe's answer (1 yes, 0 no, < 0 an errno). libbpf answers "no" for any failed load,
 * EPERM included: without the privilege to load anything, the answer names that, not the kernel.
 */
function probeAnswer(r: number, what: string, kernelLacks: string): FeatureProbe {
  if (r === 1) return { supported: true };
  const privilege = r === 0 || r === -ERRNO.EPERM ? missingBpfPrivilege() : undefined;
  if (privilege) return { supported: false, reason: 'permission', detail: `not permitted to probe ${what}: ${privilege}` };
  if (r === 0) return { supported: false, reason: 'kernel', detail: kernelLacks };
  return { supported: false, reason: 'kernel', detail: `probing ${what} failed: ${errnoName(-r)}` };
}

function progType(name: KnownProgramType): FeatureProbe {
  return probeAnswer(libbpf.libbpf_probe_bpf_prog_type(programTypeNumber(name), null), `${name} programs`, `the kernel rejects ${name} programs`);
}

function helper(progTypeName: KnownProgramType, helperId: number, name: string): FeatureProbe {
  const r = libbpf.libbpf_probe_bpf_helper(programTypeNumber(progTypeName), helperId, null);
  return probeAnswer(r, `the ${name} helper`, `the kernel has no ${name} helper for ${progTypeName} programs`);
}

function mapType(name: KnownMapType): FeatureProbe {
  return probeAnswer(libbpf.libbpf_probe_bpf_map_type(mapTypeNumber(name), null), `${name} maps`, `the kernel rejects ${name} maps`);
}

const probes: Record<Feature, () => FeatureProbe> = {
  // tc programs can be attached one way or the other (attachTc mode 'auto')
  tc: () => {
    const tcx = probeFeature('tcx');
    if (tcx.supported) return { supported: true, detail: 'tcx links' };
    const netlink = probeFeature('netlink-tc');
    return netlink.supported ? { supported: true, detail: 'cls_bpf filters on a clsact qdisc (no tcx)' } : netlink;
  },
  redirect_neigh: () => helper('sched_cls', BPF.helper.REDIRECT_NEIGH, 'bpf_redirect_neigh'),
  tcx: () => {
    // querying the tcx hook of lo (always ifindex 1) is accepted only by kernels that know tcx
    const ret = libbpf.bpf_prog_query(1, BPF.attach.TCX_INGRESS, 0, new Uint32Array(1), new Uint32Array(1), new Uint32Array([1]));
    if (ret === 0 || ret === -ERRNO.ENOSPC /* programs attached */) return { supported: true };
    if (ret === -ERRNO.EPERM) return { supported: false, reason: 'permission', detail: 'not permitted to query a tcx hook (BPF_PROG_QUERY needs CAP_NET_ADMIN): EPERM' };
    return { supported: false, reason: 'kernel', detail: `BPF_PROG_QUERY on a tcx hook failed: ${errnoName(-ret)}` };
  },
  'netlink-tc': () => {
    const p = progType('sched_cls');
    return p.supported ? { supported: true, detail: 'cls_bpf filters on a clsact qdisc' } : p;
  },
  sk_lookup: () => progType('sk_lookup'),
  cgroup_skb: () => progType('cgroup_skb'),
  cgroup_sock_addr: () => progType('cgroup_sock_addr'),
  cgroup_sockopt: () => progType('cgroup_sockopt'),
  sockops: () => progType('sock_ops'),
  cgroup2: () => {
    const at = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
    return at
      ? { supported: true, detail: `mounted at ${at}` }
      : { supported: true, detail: 'not mounted; cgroup2Root() mounts it on first use' };
  },
  bpffs: () => {
    try {
      const type = statfsSync('/sys/fs/bpf').type;
      return type === BPFFS_MAGIC
        ? { supported: true, detail: 'mounted at /sys/fs/bpf' }
        : { supported: false, reason: 'kernel', detail: '/sys/fs/bpf is not a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)' };
    } catch {
      return { supported: false, reason: 'kernel', detail: '/sys/fs/bpf does not exist' };
    }
  },
  ringbuf: () => mapType('ringbuf'),
  lpm_trie: () => mapType('lpm_trie'),
  sockmap: () => mapType('sockmap'),
  sockhash: () => mapType('sockhash'),
};

const cache = new Map<Feature, FeatureProbe>();

function validateFeature(f: unknown): Feature {
  if (typeof f !== 'string' || !Object.hasOwn(probes, f)) {
    throw new InvalidArgumentError(`unknown feature ${JSON.stringify(f)}: expected one of ${Object.keys(probes).join(', ')}`);
  }
  return f as Feature;
}

/** Whether this kernel/system has `f` (probed once, then cached). */
export function probeFeature(f: Feature): FeatureProbe {
  const feature = validateFeature(f);
  let result = cache.get(feature);
  if (!result) {
    result = probes[feature]();
    cache.set(feature, result);
  }
  return { ...result };
}

/** Throw NotSupportedError when the kernel lacks `f`, NotPermittedError when this process may not use it. */
export function requireFeature(f: Feature): void {
  const r = probeFeature(f);
  if (r.supported) return;
  if (r.reason === 'permission') throw new NotPermittedError(f, r.detail);
  throw new NotSupportedError(f, FEATURE_MIN_KERNEL[f], r.detail);
}

/** Every known feature name. */
export function knownFeatures(): Feature[] {
  return Object.keys(probes) as Feature[];
}
