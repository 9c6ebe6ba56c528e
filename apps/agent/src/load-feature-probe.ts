/** Binds the kernel's FeatureProbe to core-bpf's probeFeature (loaded only when the agent runs). */
import type { FeatureProbe, KernelFeature, Logger } from '@bpfsteer/agent-kernel';

interface CoreBpfProbes {
  probeFeature?: (feature: string) => { supported: boolean; detail?: string };
  knownFeatures?: () => string[];
}

/** KernelFeature names that core-bpf spells differently. */
const coreBpfNames: Partial<Record<KernelFeature, string>> = { tc: 'netlink-tc' };

export function coreBpfFeatureName(feature: KernelFeature): string {
  return coreBpfNames[feature] ?? feature;
}

export function featureProbeFrom(core: CoreBpfProbes, logger: Logger): FeatureProbe {
  const { probeFeature, knownFeatures } = core;
  if (typeof probeFeature !== 'function') {
    throw new Error('@bpfsteer/core-bpf does not export probeFeature');
  }
  const known = typeof knownFeatures === 'function' ? new Set(knownFeatures()) : undefined;
  return {
    check(feature) {
      const name = coreBpfFeatureName(feature);
      if (known && !known.has(name)) {
        logger.warn({ feature }, 'core-bpf has no probe for this feature; assuming it is present');
        return { supported: true, detail: 'not probed (core-bpf has no probe for it)' };
      }
      return probeFeature(name);
    },
  };
}

export async function loadFeatureProbe(logger: Logger): Promise<FeatureProbe> {
  try {
    const core = (await import('@bpfsteer/core-bpf')) as unknown as CoreBpfProbes;
    return featureProbeFrom(core, logger);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.error({ err }, 'cannot load the kernel feature probes; plugins that require features will fail');
    return { check: () => ({ supported: false, detail: `cannot probe: ${message}` }) };
  }
}
