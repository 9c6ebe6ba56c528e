import { describe, expect, it } from 'vitest';
import { nodeFromEnvironment, parseNodeId, tokenClaims, tokenProblems } from './istiod-identity.js';

/** An unsigned JWT with `payload` (Istiod checks the signature; these checks only read claims). */
const jwt = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
const node = { type: 'ztunnel', namespace: 'istio-system' };

describe('the Istiod identity rules', () => {
  it('reads a ztunnel node id as Istiod does', () => {
    expect(parseNodeId('ztunnel~10.0.0.5~bpfsteer-a.istio-system~istio-system.svc.cluster.local')).toEqual({ ok: true, value: node });
  });

  it('a projected token of the node id\'s namespace with audience istio-ca passes', () => {
    const claims = tokenClaims(jwt({ aud: ['istio-ca'], sub: 'system:serviceaccount:istio-system:bpfsteer', 'kubernetes.io': { namespace: 'istio-system', serviceaccount: { name: 'bpfsteer' } } }));
    expect(claims).toEqual({ ok: true, value: { audiences: ['istio-ca'], namespace: 'istio-system', serviceAccount: 'bpfsteer' } });
    expect(claims.ok && tokenProblems(claims.value, node)).toEqual([]);
  });

  it('names a default token\'s audience and another namespace, with what to do', () => {
    const claims = tokenClaims(jwt({ aud: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:shop:default' }));
    if (!claims.ok) throw new Error(claims.problems.join());
    const problems = tokenProblems(claims.value, node);
    expect(problems[0]).toMatch(/its audience is "https:\/\/kubernetes\.default\.svc", Istiod accepts "istio-ca": mount a projected service-account token with audience istio-ca/);
    expect(problems[1]).toMatch(/of service account shop\/default, but the node id says namespace "istio-system"/);
  });

  it('a file that is no JWT is said so', () => {
    expect(tokenClaims('not-a-token')).toEqual({ ok: false, problems: [expect.stringMatching(/is not a JWT/)] });
    expect(tokenClaims('a.%%%.c')).toEqual({ ok: false, problems: [expect.stringMatching(/payload that is not base64url JSON/)] });
  });

  it('makes the node id and metadata from the downward-API environment as ztunnel does, or names what is missing', () => {
    expect(nodeFromEnvironment({ INSTANCE_IP: '10.0.0.5', POD_NAME: 'bpfsteer-x', POD_NAMESPACE: 'istio-system', NODE_NAME: 'node-a' })).toEqual({
      ok: true,
      value: {
        id: 'ztunnel~10.0.0.5~bpfsteer-x.istio-system~istio-system.svc.cluster.local',
        metadata: { NAME: 'bpfsteer-x', NAMESPACE: 'istio-system', INSTANCE_IPS: '10.0.0.5', NODE_NAME: 'node-a' },
      },
    });
    expect(nodeFromEnvironment({ INSTANCE_IP: 'node-a' })).toEqual({
      ok: false,
      problems: ['INSTANCE_IP "node-a" is not an IP address (status.podIP)', 'POD_NAME is not set (metadata.name)', 'POD_NAMESPACE is not set (metadata.namespace)'],
    });
    const made = nodeFromEnvironment({ INSTANCE_IP: 'fd00::5', POD_NAME: 'p', POD_NAMESPACE: 'ns' });
    expect(made.ok && parseNodeId(made.value.id, made.value.metadata).ok).toBe(true);
  });
});
