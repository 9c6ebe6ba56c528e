import type { KernelFeature } from '@bpfsteer/agent-kernel';
import { knownFeatures } from '@bpfsteer/core-bpf';
import { describe, expect, it } from 'vitest';

// agent-kernel keeps its feature names FFI-free; they must be exactly core-bpf's probe names.
const kernelFeatures: Record<KernelFeature, true> = {
  bpffs: true, tc: true, tcx: true, 'netlink-tc': true, redirect_neigh: true, sk_lookup: true, cgroup_skb: true,
  cgroup_sock_addr: true, sockops: true, cgroup2: true, lpm_trie: true, ringbuf: true, sockmap: true, sockhash: true,
};

describe('feature names', () => {
  it('agent-kernel KernelFeature and core-bpf knownFeatures() agree', () => {
    expect(Object.keys(kernelFeatures).sort()).toEqual([...knownFeatures()].sort());
  });
});
