/**
 * The OpenZiti router's own listeners, from its config file: the ports a tproxy firewall in front
 * of the router must let in (its edge and transport listeners, its link listeners, the Edge API
 * proxy, its web bind points such as health checks), as pass rules. Pure: text in, rules out.
 *
 * Where a router config names them (openziti/ziti etc/edge.router.yml and the router's config
 * loader): `listeners[].address` ("tls:0.0.0.0:3022", "wss:…", "transport"'s "tls:…", "udp:…",
 * "transwarp:…"), `link.listeners[].bind`, `edge.apiProxy.listener` ("0.0.0.0:1080") and
 * `web[].bindPoints[].interface` ("0.0.0.0:8081"). `${VAR}` is taken from the environment, as the
 * router does. An unspecified address (0.0.0.0, [::]) is any destination of its family ([::]
 * takes IPv4 too); a host name cannot be a rule and is reported.
 */
import { parse } from 'yaml';
import { anyPrefix, tryParseIp } from '@bpfsteer/ip';
import type { Protocol, Rule } from './rule.js';

/** The service id of the pass rules made from the router config (never a ziti service's). */
export const ROUTER_CONFIG_SERVICE = 'router-config';

export interface RouterListener {
  /** where in the config, e.g. "listeners[0].address" */
  readonly from: string;
  readonly protocol: Protocol;
  readonly destination: string;
  readonly port: number;
}

export interface RouterListeners {
  readonly listeners: readonly RouterListener[];
  /** what could not be read, each naming where */
  readonly problems: readonly string[];
}

const UDP_SCHEMES = new Set(['udp', 'dtls', 'transwarp', 'transwarptls']);
const TCP_SCHEMES = new Set(['tls', 'tcp', 'ws', 'wss']);

function expand(text: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  let missing = false;
  const out = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const value = env[name];
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? undefined : out;
}

/** "scheme:host:port" or "host:port" (host an IP, "[v6]" or a name): the rules it asks for. */
function listenerRules(from: string, text: unknown, schemeRequired: boolean, env: Readonly<Record<string, string | undefined>>, out: RouterListener[], problems: string[]): void {
  if (typeof text !== 'string') {
    problems.push(`${from}: expected an address text, got ${JSON.stringify(text)}`);
    return;
  }
  const expanded = expand(text, env);
  if (expanded === undefined) {
    problems.push(`${from}: ${text} names an environment variable that is not set here`);
    return;
  }
  const m = /^(?:([a-z0-9]+):)?(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/i.exec(expanded);
  if (!m || (schemeRequired && !m[1])) {
    problems.push(`${from}: ${expanded} is not "scheme:host:port"${schemeRequired ? '' : ' or "host:port"'}`);
    return;
  }
  const scheme = (m[1] ?? 'tcp').toLowerCase();
  const protocol: Protocol | undefined = TCP_SCHEMES.has(scheme) ? 'tcp' : UDP_SCHEMES.has(scheme) ? 'udp' : undefined;
  if (!protocol) {
    problems.push(`${from}: ${expanded}: unknown scheme ${scheme} (known: ${[...TCP_SCHEMES, ...UDP_SCHEMES].join(', ')})`);
    return;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) {
    problems.push(`${from}: ${expanded}: port ${port} is out of range`);
    return;
  }
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const ip = tryParseIp(host);
  if (!ip.ok) {
    problems.push(`${from}: ${expanded}: ${host} is a host name; a rule needs an address (bind the listener to an address, or add a pass rule by hand)`);
    return;
  }
  const unspecified = ip.value.bytes.every((b) => b === 0);
  const destinations = !unspecified ? [`${ip.value.text}/${ip.value.family === 4 ? 32 : 128}`] : ip.value.family === 4 ? [anyPrefix(4).text] : [anyPrefix(6).text, anyPrefix(4).text];
  for (const destination of destinations) out.push({ from, protocol, destination, port });
}

/** The router's listeners in the text of its config file. */
export function routerListeners(text: string, env: Readonly<Record<string, string | undefined>> = process.env): RouterListeners {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return { listeners: [], problems: [`not YAML: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { listeners: [], problems: ['not a router config: expected a mapping'] };
  const config = doc as Record<string, unknown>;
  const out: RouterListener[] = [];
  const problems: string[] = [];
  const list = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null) : []);
  for (const [i, l] of list(config.listeners).entries()) {
    if (l.address !== undefined) listenerRules(`listeners[${i}].address`, l.address, true, env, out, problems);
  }
  const link = config.link as Record<string, unknown> | undefined;
  for (const [i, l] of list(link?.listeners).entries()) {
    if (l.bind !== undefined) listenerRules(`link.listeners[${i}].bind`, l.bind, true, env, out, problems);
  }
  const apiProxy = (config.edge as Record<string, unknown> | undefined)?.apiProxy as Record<string, unknown> | undefined;
  if (apiProxy?.listener !== undefined) listenerRules('edge.apiProxy.listener', apiProxy.listener, false, env, out, problems);
  for (const [i, w] of list(config.web).entries()) {
    for (const [k, b] of list(w.bindPoints).entries()) {
      if (b.interface !== undefined) listenerRules(`web[${i}].bindPoints[${k}].interface`, b.interface, false, env, out, problems);
    }
  }
  return { listeners: out, problems };
}

/** The pass rules of the router's listeners (one per destination, protocol and port; service ROUTER_CONFIG_SERVICE). */
export function routerPassRules(listeners: readonly RouterListener[]): Rule[] {
  const byKey = new Map<string, Rule>();
  for (const l of listeners) {
    const source = l.destination.includes(':') ? anyPrefix(6).text : anyPrefix(4).text;
    const rule: Rule = { destination: l.destination, source, protocol: l.protocol, ports: { low: l.port, high: l.port }, action: 'pass', interfaces: [], service: ROUTER_CONFIG_SERVICE };
    byKey.set(`${l.protocol} ${l.destination} ${l.port}`, rule);
  }
  return [...byKey.values()];
}
