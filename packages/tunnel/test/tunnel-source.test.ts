import { describe, expect, it } from 'vitest';
import { tunnelIntents, tunnelSourceConfigSchema } from '../src/index.js';

describe('tunnel source', () => {
  it("publishes a connect.redirect per peer prefix (its ports) and a direct one per exclusion", () => {
    const config = tunnelSourceConfigSchema.parse({
      peers: [
        { destination: '10.0.2.0/24', address: '192.168.0.2:18001' },
        { destination: 'fd00:2::/64', address: '[fd00::2]:18001' },
      ],
      redirectPorts: ['80', 443],
      exclude: ['10.0.2.9'],
      tls: false,
      plainText: true,
    });
    expect(tunnelIntents(config)).toEqual([
      { kind: 'connect.redirect', destination: '10.0.2.0/24', ports: ['80', 443] },
      { kind: 'connect.redirect', destination: 'fd00:2::/64', ports: ['80', 443] },
      { kind: 'connect.redirect', destination: '10.0.2.9', direct: true },
    ]);
  });

  it('refuses bad ports, prefixes, endpoints and an unmeant plain text, each with its path', () => {
    const r = tunnelSourceConfigSchema.safeParse({
      peers: [{ destination: '10.0.2.1/24', address: '192.168.0.2' }],
      redirectPorts: ['0'],
      exclude: ['x'],
      tls: false,
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['exclude.0', 'peers.0.address', 'peers.0.destination', 'redirectPorts.0', 'tls']);
  });
});
