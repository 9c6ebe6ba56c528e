/** Binds the kernel's FeatureProbe to core-bpf's cached kernel probes. */
import type { FeatureProbe } from '@bpfsteer/agent-kernel';
import { probeFeature } from '@bpfsteer/core-bpf';

export const coreBpfFeatureProbe: FeatureProbe = {
  check: (feature) => probeFeature(feature),
};
