import { describe, expect, it } from 'vitest';
import { createLogger } from '@bpfsteer/agent-kernel';
import { coreBpfFeatureName, featureProbeFrom } from '../src/load-feature-probe.js';

const logger = createLogger({ level: 'silent' });

describe('featureProbeFrom', () => {
  it('maps kernel feature names to core-bpf probes', () => {
    const asked: string[] = [];
    const probe = featureProbeFrom(
      {
        probeFeature: (f) => {
          asked.push(f);
          return f === 'tcx' ? { supported: false, detail: 'needs 6.6' } : { supported: true };
        },
        knownFeatures: () => ['tcx', 'netlink-tc', 'bpffs'],
      },
      logger,
    );
    expect(probe.check('tcx')).toEqual({ supported: false, detail: 'needs 6.6' });
    expect(probe.check('tc')).toEqual({ supported: true });
    expect(probe.check('redirect_neigh')).toEqual({ supported: true, detail: 'not probed (core-bpf has no probe for it)' });
    expect(asked).toEqual(['tcx', 'netlink-tc']);
    expect(coreBpfFeatureName('sk_lookup')).toBe('sk_lookup');
  });

  it('refuses a core-bpf without probeFeature', () => {
    expect(() => featureProbeFrom({}, logger)).toThrow('@bpfsteer/core-bpf does not export probeFeature');
  });
});
