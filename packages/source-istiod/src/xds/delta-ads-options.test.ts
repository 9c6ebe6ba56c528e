import { describe, expect, it } from 'vitest';
import { ConfigError } from '@bpfsteer/agent-kernel';
import { DeltaAdsClient } from './delta-ads-client.js';
import { deltaAdsClientOptionsSchema } from './delta-ads-options.js';

const ID = 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local';

describe('DeltaAdsClient options', () => {
  it('fills in the defaults', () => {
    expect(deltaAdsClientOptionsSchema.parse({ address: 'istiod:15010', node: { id: ID } })).toEqual({
      address: 'istiod:15010',
      node: { id: ID },
      backoff: { initialMs: 500, maxMs: 30_000 },
      maxReceiveMessageBytes: 256 * 1024 * 1024,
    });
  });

  const cases: { name: string; options: unknown; message: RegExp }[] = [
    { name: 'no address', options: { node: { id: ID } }, message: /address/ },
    { name: 'no node id', options: { address: 'a:1', node: {} }, message: /node\.id/ },
    {
      name: 'a token without TLS',
      options: { address: 'a:1', node: { id: ID }, tokenFile: '/var/run/token' },
      message: /tokenFile: a service-account token is only sent over TLS/,
    },
    {
      name: 'a backoff cap below the first delay',
      options: { address: 'a:1', node: { id: ID }, backoff: { initialMs: 1000, maxMs: 10 } },
      message: /backoff\.maxMs: must be at least backoff\.initialMs \(1000\)/,
    },
    { name: 'an unknown field', options: { address: 'a:1', node: { id: ID }, tsl: {} }, message: /tsl: unknown field/ },
    // what Istiod refuses (istiod-identity.ts)
    { name: 'a node id of three parts', options: { address: 'a:1', node: { id: 'ztunnel~10.0.0.5~x' } }, message: /node\.id: Istiod would refuse this node id: has 3 part\(s\).*wants 4/ },
    { name: 'a node type Istiod does not know', options: { address: 'a:1', node: { id: 'bpfsteer~10.0.0.5~p.ns~ns.svc.cluster.local' } }, message: /type "bpfsteer" is not one Istiod accepts.*use "ztunnel"/ },
    { name: 'no IP in the node id', options: { address: 'a:1', node: { id: 'ztunnel~node-a~p.ns~ns.svc.cluster.local' } }, message: /"node-a" is not an IP address/ },
    { name: 'namespaces that disagree', options: { address: 'a:1', node: { id: 'ztunnel~10.0.0.5~p.shop~istio-system.svc.cluster.local' } }, message: /pod part "p\.shop" is in namespace "shop" but the proxy's namespace is "istio-system"/ },
    { name: 'a metadata value that is no string', options: { address: 'a:1', node: { id: ID, metadata: { PORT: 15008 } } }, message: /node\.metadata\.PORT: must be a string: Istiod decodes node metadata/ },
    { name: 'keepalive pings every 10 s', options: { address: 'a:1', node: { id: ID }, keepaliveMs: 10_000 }, message: /keepaliveMs: must be at least 15000 \(Istiod closes/ },
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

  it('accepts the IP in metadata.INSTANCE_IPS and the namespace in metadata.NAMESPACE, as Istiod reads them', () => {
    expect(deltaAdsClientOptionsSchema.safeParse({ address: 'a:1', node: { id: 'ztunnel~~p.ns~ns.svc.cluster.local', metadata: { INSTANCE_IPS: '10.0.0.5' } } }).success).toBe(true);
    expect(deltaAdsClientOptionsSchema.safeParse({ address: 'a:1', node: { id: 'ztunnel~10.0.0.5~p~x.svc.cluster.local', metadata: { NAMESPACE: 'ns' } } }).success).toBe(true);
  });
});
