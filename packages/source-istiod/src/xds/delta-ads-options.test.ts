import { describe, expect, it } from 'vitest';
import { ConfigError } from '@bpfsteer/agent-kernel';
import { DeltaAdsClient } from './delta-ads-client.js';
import { deltaAdsClientOptionsSchema } from './delta-ads-options.js';

describe('DeltaAdsClient options', () => {
  it('fills in the defaults', () => {
    expect(deltaAdsClientOptionsSchema.parse({ address: 'istiod:15010', node: { id: 'n' } })).toEqual({
      address: 'istiod:15010',
      node: { id: 'n' },
      backoff: { initialMs: 500, maxMs: 30_000 },
      maxReceiveMessageBytes: 256 * 1024 * 1024,
    });
  });

  const cases: { name: string; options: unknown; message: RegExp }[] = [
    { name: 'no address', options: { node: { id: 'n' } }, message: /address/ },
    { name: 'no node id', options: { address: 'a:1', node: {} }, message: /node\.id/ },
    {
      name: 'a token without TLS',
      options: { address: 'a:1', node: { id: 'n' }, tokenFile: '/var/run/token' },
      message: /tokenFile: a service-account token is only sent over TLS/,
    },
    {
      name: 'a backoff cap below the first delay',
      options: { address: 'a:1', node: { id: 'n' }, backoff: { initialMs: 1000, maxMs: 10 } },
      message: /backoff\.maxMs: must be at least backoff\.initialMs \(1000\)/,
    },
    { name: 'an unknown field', options: { address: 'a:1', node: { id: 'n' }, tsl: {} }, message: /tsl: unknown field/ },
  ];
  it.each(cases)('rejects $name with a ConfigError', ({ options, message }) => {
    let caught: unknown;
    try {
      new DeltaAdsClient(options as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toMatch(message);
  });
});
