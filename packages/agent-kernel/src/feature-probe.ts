import type { KernelFeature } from './contracts.js';

/**
 * Tells whether the running kernel offers a feature. The application binds it (bpfsteer binds
 * core-bpf's probeFeature); the kernel stays free of FFI.
 */
export interface FeatureProbe {
  /**
   * `reason` of a feature not supported: the kernel lacks it, or this process may not use it (a
   * missing capability), which the agent then names instead of the kernel.
   */
  check(feature: KernelFeature): { supported: boolean; detail?: string; reason?: 'kernel' | 'permission' };
}

/** Used when no probe is bound: reports every feature as supported, without probing. */
export const unprobedFeatures: FeatureProbe = {
  check: () => ({ supported: true, detail: 'not probed (no FeatureProbe bound)' }),
};
