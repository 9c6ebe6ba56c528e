/**
 * What Istiod asks of a proxy's identity before it serves the stream, checked here so that a config
 * it would refuse is refused with a message that says what to set. Pure functions.
 *
 * Istiod (istio/istio pilot/pkg/model/context.go, ParseServiceNodeWithMetadata and
 * GetProxyConfigNamespace; pilot/pkg/xds/authentication.go) reads the node id as four parts
 * `<type>~<ip>~<id>~<dns domain>`: the type one of sidecar, router, waypoint, ztunnel; an IP (or IPs
 * in the metadata's INSTANCE_IPS); the proxy's namespace is the metadata's NAMESPACE, else the first
 * label of the domain; and the namespace of the service account in the stream's token must be that
 * namespace. It decodes the metadata into typed fields whose values are strings, and its gRPC
 * server closes connections whose keepalive pings come more often than its enforcement allows.
 */
import { isIP } from 'node:net';

/** The proxy types Istiod accepts in a node id. */
export const ISTIOD_NODE_TYPES = ['sidecar', 'router', 'waypoint', 'ztunnel'] as const;

/** Istiod's gRPC keepalive enforcement: pings closer together than this end the connection. */
export const ISTIOD_MIN_KEEPALIVE_MS = 15_000;

/** The audience Istiod accepts in a token by default (its TOKEN_AUDIENCES). */
export const ISTIOD_TOKEN_AUDIENCE = 'istio-ca';

export interface NodeIdentity {
  readonly type: string;
  /** the proxy's namespace as Istiod derives it */
  readonly namespace: string;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

const EXAMPLE = 'ztunnel~10.0.0.5~bpfsteer-node-a.istio-system~istio-system.svc.cluster.local';

/** The node id as Istiod reads it, or what it would refuse (`metadata`: the node's metadata). */
export function parseNodeId(id: string, metadata: Readonly<Record<string, unknown>> = {}): Checked<NodeIdentity> {
  const parts = id.split('~');
  if (parts.length !== 4) {
    return { ok: false, problems: [`has ${parts.length} part(s) separated by "~"; Istiod wants 4, <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local, e.g. "${EXAMPLE}"`] };
  }
  const [type, ip, name, domain] = parts as [string, string, string, string];
  const problems: string[] = [];
  if (!(ISTIOD_NODE_TYPES as readonly string[]).includes(type)) {
    problems.push(`type "${type}" is not one Istiod accepts (${ISTIOD_NODE_TYPES.join(', ')}): use "ztunnel" for a node proxy`);
  }
  const instanceIps = typeof metadata.INSTANCE_IPS === 'string' ? metadata.INSTANCE_IPS.split(',').filter((a) => isIP(a) !== 0) : [];
  if (isIP(ip) === 0 && instanceIps.length === 0) {
    problems.push(`"${ip}" is not an IP address (nor does metadata.INSTANCE_IPS hold one): put this node's IP second`);
  }
  if (!name) problems.push('the third part (<pod>.<namespace>) is empty');
  const namespace = typeof metadata.NAMESPACE === 'string' && metadata.NAMESPACE ? metadata.NAMESPACE : (domain.split('.')[0] ?? '');
  if (!namespace || !domain.includes('.')) {
    problems.push(`domain "${domain}" does not start with the namespace: use <namespace>.svc.cluster.local`);
  } else {
    const dot = name.indexOf('.');
    const idNamespace = dot < 0 ? undefined : name.slice(dot + 1);
    if (idNamespace !== undefined && idNamespace !== namespace) {
      problems.push(`the pod part "${name}" is in namespace "${idNamespace}" but the proxy's namespace is "${namespace}" (${typeof metadata.NAMESPACE === 'string' && metadata.NAMESPACE ? 'metadata.NAMESPACE' : 'the domain'}): make them the same`);
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: { type, namespace } };
}

/**
 * The node id and metadata ztunnel sends, from the environment a Kubernetes pod gets through the
 * downward API (istio/ztunnel src/xds/client.rs, Config::node: INSTANCE_IP, POD_NAME, POD_NAMESPACE,
 * NODE_NAME; the metadata NAME, NAMESPACE, INSTANCE_IPS, NODE_NAME), or what is missing.
 */
export function nodeFromEnvironment(env: Readonly<Record<string, string | undefined>>): Checked<{ id: string; metadata: Record<string, string> }> {
  const ip = env.INSTANCE_IP ?? '';
  const pod = env.POD_NAME ?? '';
  const namespace = env.POD_NAMESPACE ?? '';
  const problems: string[] = [];
  if (isIP(ip) === 0) problems.push(`INSTANCE_IP ${ip ? `"${ip}" is not an IP address` : 'is not set'} (status.podIP)`);
  if (!pod) problems.push('POD_NAME is not set (metadata.name)');
  if (!namespace) problems.push('POD_NAMESPACE is not set (metadata.namespace)');
  if (problems.length) return { ok: false, problems };
  const metadata: Record<string, string> = { NAME: pod, NAMESPACE: namespace, INSTANCE_IPS: ip };
  if (env.NODE_NAME) metadata.NODE_NAME = env.NODE_NAME;
  return { ok: true, value: { id: `ztunnel~${ip}~${pod}.${namespace}~${namespace}.svc.cluster.local`, metadata } };
}

/** Keys of node metadata whose values are not strings (Istiod's typed decoding refuses them). */
export function nonStringMetadata(metadata: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(metadata)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k]) => k);
}

export interface TokenClaims {
  readonly audiences: readonly string[];
  /** from `kubernetes.io.namespace` or `sub: system:serviceaccount:<ns>:<sa>` */
  readonly namespace?: string;
  readonly serviceAccount?: string;
}

/** The claims Istiod checks of a Kubernetes service-account token (a JWT; the signature is Istiod's to check). */
export function tokenClaims(token: string): Checked<TokenClaims> {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return { ok: false, problems: ['is not a JWT (three base64url parts separated by ".")'] };
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, problems: ['has a payload that is not base64url JSON'] };
  }
  if (payload === null || typeof payload !== 'object') return { ok: false, problems: ['has a payload that is not a JSON object'] };
  const aud = payload.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  const k8s = payload['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown } } | undefined;
  const sub = typeof payload.sub === 'string' ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(payload.sub) : null;
  const namespace = typeof k8s?.namespace === 'string' ? k8s.namespace : sub?.[1];
  const serviceAccount = typeof k8s?.serviceaccount?.name === 'string' ? k8s.serviceaccount.name : sub?.[2];
  return { ok: true, value: { audiences, ...(namespace !== undefined && { namespace }), ...(serviceAccount !== undefined && { serviceAccount }) } };
}

/** Why Istiod would refuse a stream with this token from a proxy of `node` (empty: nothing found). */
export function tokenProblems(claims: TokenClaims, node: NodeIdentity, audience = ISTIOD_TOKEN_AUDIENCE): string[] {
  const problems: string[] = [];
  if (!claims.audiences.includes(audience)) {
    problems.push(
      `its audience is ${claims.audiences.length ? claims.audiences.map((a) => `"${a}"`).join(', ') : 'not set'}, Istiod accepts "${audience}": ` +
        `mount a projected service-account token with audience ${audience}`,
    );
  }
  if (claims.namespace !== undefined && claims.namespace !== node.namespace) {
    problems.push(
      `it is of service account ${claims.namespace}/${claims.serviceAccount ?? '?'}, but the node id says namespace "${node.namespace}": ` +
        `Istiod only serves a proxy whose token is of its own namespace (run in ${claims.namespace}, or change the node id)`,
    );
  }
  return problems;
}
