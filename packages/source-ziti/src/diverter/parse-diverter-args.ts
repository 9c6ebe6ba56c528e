/**
 * The argument parser of `bpfsteer-diverter` (and of its older names `map_update` / `map_delete`):
 * argv -> the request to send to the agent, or a usage error. Pure (the environment is passed in),
 * so it can be table-tested and fuzzed. CIDRs are normalised here; the agent checks again.
 */
import { parseArgs } from 'node:util';
import { anyPrefix, hasHostBits, maxPrefixLength, networkOf, tryParseIp, tryParsePrefix, type IpAddress, type IpPrefix } from '@bpfsteer/ip';
import { DEFAULT_SOCKET } from '../defaults.js';
import { interfaceNameRule, isInterfaceName, isServiceId, serviceIdRule, type Protocol } from '../rule.js';

export type InvokedAs = 'bpfsteer-diverter' | 'map_update' | 'map_delete';

/** The behaviour selected by the program's file name (process.argv[1]). */
export function invokedAs(programPath: string | undefined): InvokedAs {
  const base = (programPath ?? '').split('/').pop()?.replace(/\.(c|m)?js$/, '') ?? '';
  return base === 'map_update' || base === 'map_delete' ? base : 'bpfsteer-diverter';
}

/** The body of POST /v1/rules. */
export interface InsertBody {
  destination: string;
  source: string;
  protocol: Protocol;
  ports: { low: number; high: number };
  action: 'divert' | 'pass' | 'deny';
  tproxyPort?: number;
  interfaces?: string[];
  service?: string;
}

/** The body of POST /v1/rules/delete. */
export interface DeleteBody {
  destination: string;
  source: string;
  protocol: Protocol;
  ports: { low: number; high?: number };
  interfaces?: string[];
  /** -s: of a rule several services share, only this service's */
  service?: string;
  /** the ports listening where the native client ran (forwarded-call.ts adds them) */
  listening?: { tcp: number[]; udp: number[] };
}

export type ListFilter = 'all' | 'intercepts' | 'passthrough';

export type DiverterRequest =
  | { readonly command: 'help' }
  | { readonly command: 'version' }
  | { readonly command: 'insert'; readonly body: InsertBody }
  | { readonly command: 'delete'; readonly body: DeleteBody }
  | { readonly command: 'list'; readonly filter: ListFilter; readonly json: boolean }
  | { readonly command: 'list-interfaces'; readonly json: boolean }
  | { readonly command: 'flush' }
  | { readonly command: 'set-interface'; readonly name: string; readonly settings: { echo?: boolean; ssh?: boolean } }
  | { readonly command: 'monitor'; readonly json: boolean };

export type AgentAddress =
  | { readonly kind: 'socket'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string; readonly token?: string; readonly tokenFile?: string };

export type ParsedArgs =
  | { readonly ok: true; readonly request: DiverterRequest; readonly agent: AgentAddress }
  | { readonly ok: false; readonly error: string };

export interface ParseOptions {
  readonly invokedAs: InvokedAs;
  /** BPFSTEER_ZITI_SOCKET, BPFSTEER_ZITI_URL, BPFSTEER_ZITI_TOKEN */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const options = {
  version: { type: 'boolean', short: 'V' },
  insert: { type: 'boolean', short: 'I' },
  delete: { type: 'boolean', short: 'D' },
  list: { type: 'boolean', short: 'L' },
  flush: { type: 'boolean', short: 'F' },
  monitor: { type: 'boolean', short: 'M' },
  'cidr-block': { type: 'string', short: 'c', multiple: true },
  'dprefix-len': { type: 'string', short: 'm', multiple: true },
  'ocidr-block': { type: 'string', short: 'o', multiple: true },
  'oprefix-len': { type: 'string', short: 'n', multiple: true },
  'low-port': { type: 'string', short: 'l', multiple: true },
  'high-port': { type: 'string', short: 'h', multiple: true },
  'tproxy-port': { type: 'string', short: 't', multiple: true },
  protocol: { type: 'string', short: 'p', multiple: true },
  interface: { type: 'string', short: 'N', multiple: true },
  'service-id': { type: 'string', short: 's', multiple: true },
  deny: { type: 'boolean', short: 'd' },
  'icmp-echo': { type: 'string', short: 'e', multiple: true },
  'disable-ssh': { type: 'string', short: 'x', multiple: true },
  intercepts: { type: 'boolean', short: 'i' },
  passthrough: { type: 'boolean', short: 'f' },
  interfaces: { type: 'boolean', short: 'E' },
  json: { type: 'boolean' },
  socket: { type: 'string', multiple: true },
  url: { type: 'string', multiple: true },
  'token-file': { type: 'string', multiple: true },
  help: { type: 'boolean' },
} as const;

type OptionName = keyof typeof options;

/** "-c, --cidr-block" for messages. */
function flag(name: OptionName): string {
  const short = (options[name] as { short?: string }).short;
  return short ? `-${short}/--${name}` : `--${name}`;
}

class UsageError extends Error {}

const fail = (message: string): never => {
  throw new UsageError(message);
};

const connectionOptions: readonly OptionName[] = ['socket', 'url', 'token-file'];
const commandOptions: readonly OptionName[] = ['version', 'insert', 'delete', 'list', 'flush', 'monitor', 'icmp-echo', 'disable-ssh', 'help'];

type Values = Partial<Record<OptionName, string[] | boolean>>;

function one(values: Values, name: OptionName): string | undefined {
  const v = values[name];
  return Array.isArray(v) ? v[0] : undefined;
}

function required(values: Values, name: OptionName, what: string): string {
  return one(values, name) ?? fail(`${what} needs ${flag(name)}`);
}

function number(text: string, max: number, what: string, min = 0): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) < min || Number(text) > max) {
    fail(`${what} ${JSON.stringify(text)} is out of range; accepted: an integer ${min}..${max}`);
  }
  return Number(text);
}

const port = (text: string, what: string): number => number(text, 65535, what);

function address(text: string, what: string): IpAddress {
  const parsed = tryParseIp(text, { what });
  return parsed.ok ? parsed.value : fail(parsed.error.message);
}

/**
 * `-c <ip> -m <len>` (`-o/-n`, map_update's `<ip> <prefix-len>`): the router passes a service's
 * address as configured with its length, meaning that network ("-c 10.99.3.7 -m 24" is
 * 10.99.3.0/24), so host bits are cleared here, the one protocol edge that does; the API refuses them.
 */
function cidr(ipText: string, lenText: string | undefined, what: string): IpPrefix {
  const ip = address(ipText, what);
  if (lenText === undefined) return networkOf(ip, maxPrefixLength(ip.family));
  const parsed = tryParsePrefix(`${ipText}/${lenText}`, { what, mask: true });
  return parsed.ok ? parsed.value : fail(parsed.error.message);
}

function protocolName(text: string): Protocol {
  const p = text.toLowerCase();
  return p === 'tcp' || p === 'udp' ? p : fail(`protocol ${JSON.stringify(text)} is not supported; accepted: tcp, udp`);
}

function protocolNumber(text: string): Protocol {
  if (text === '6') return 'tcp';
  if (text === '17') return 'udp';
  return fail(`protocol ${JSON.stringify(text)} is not supported; accepted: 6 (tcp), 17 (udp)`);
}

function interfaceName(text: string, what: string): string {
  return isInterfaceName(text) ? text : fail(`${what} ${JSON.stringify(text)} is not ${interfaceNameRule}`);
}

/** Destination and source of an insert/delete given with -c/-m and -o/-n. */
function addresses(values: Values): { destination: IpPrefix; source: string } {
  const destination = cidr(required(values, 'cidr-block', 'a rule'), one(values, 'dprefix-len'), 'destination (-c)');
  const srcIp = one(values, 'ocidr-block');
  if (srcIp === undefined) {
    if (one(values, 'oprefix-len') !== undefined) fail(`${flag('oprefix-len')} needs ${flag('ocidr-block')}`);
    return { destination, source: anyPrefix(destination.family).text };
  }
  const source = sourceCidr(srcIp, one(values, 'oprefix-len'));
  // the router passes its default source `-o 0.0.0.0 -n 0` ("any") for IPv6 intercepts too
  if (source.text === '0.0.0.0/0' && destination.family === 6) return { destination, source: anyPrefix(6).text };
  if (source.family !== destination.family) {
    fail(`source ${source.text} and destination ${destination.text} must be of the same address family`);
  }
  return { destination, source: source.text };
}

/**
 * `-o <ip> -n <len>`. The router sends an allowed source given without a length as `-n 32`, for
 * IPv6 too (openziti/ziti tproxy_linux.go, getSourceAddressesAsCidrs): an IPv6 address with
 * `-n 32` that is not itself a /32 network is that one address (/128), not the /32 around it.
 */
function sourceCidr(ipText: string, lenText: string | undefined): IpPrefix {
  const ip = address(ipText, 'source (-o)');
  if (ip.family === 6 && lenText === '32' && hasHostBits(ip.bytes, 32)) return networkOf(ip, 128);
  return cidr(ipText, lenText, 'source (-o)');
}

function portRange(values: Values, highRequired: boolean): { low: number; high?: number } {
  const low = port(required(values, 'low-port', 'a rule'), 'low port (-l)');
  const highText = one(values, 'high-port');
  if (highText === undefined) return highRequired ? { low, high: low } : { low };
  const high = port(highText, 'high port (-h)');
  if (low > high) fail(`low port ${low} is above high port ${high}`);
  return { low, high };
}

function interfaces(values: Values): { interfaces?: string[] } {
  const names = (values.interface as string[] | undefined) ?? [];
  if (names.length === 0) return {};
  return { interfaces: [...new Set(names.map((n) => interfaceName(n, 'interface (-N)')))] };
}

function insertBody(values: Values): InsertBody {
  const { destination, source } = addresses(values);
  const protocol = protocolName(required(values, 'protocol', 'a rule'));
  const ports = portRange(values, true) as { low: number; high: number };
  const service = one(values, 'service-id');
  if (service !== undefined && !isServiceId(service)) fail(`service id (-s) is not ${serviceIdRule}`);
  const base = { destination: destination.text, source, protocol, ports, ...interfaces(values), ...(service !== undefined && { service }) };
  if (values.deny) {
    if (one(values, 'tproxy-port') !== undefined) fail(`${flag('deny')} makes a deny rule, which takes no ${flag('tproxy-port')}`);
    return { ...base, action: 'deny' };
  }
  const tproxyPort = port(required(values, 'tproxy-port', 'an insert (-I)'), 'tproxy port (-t)');
  return tproxyPort === 0 ? { ...base, action: 'pass' } : { ...base, action: 'divert', tproxyPort };
}

function deleteBody(values: Values): DeleteBody {
  const { destination, source } = addresses(values);
  const protocol = protocolName(required(values, 'protocol', 'a rule'));
  const service = one(values, 'service-id');
  if (service !== undefined && !isServiceId(service)) fail(`service id (-s) is not ${serviceIdRule}`);
  return { destination: destination.text, source, protocol, ports: portRange(values, false), ...interfaces(values), ...(service !== undefined && { service }) };
}

/** Options given (each once, -N as often as wanted). */
function given(values: Values): OptionName[] {
  return (Object.keys(values) as OptionName[]).filter((k) => values[k] !== undefined && values[k] !== false);
}

function onlyAllowed(values: Values, allowed: readonly OptionName[], what: string): void {
  const extra = given(values).filter((k) => !allowed.includes(k) && !connectionOptions.includes(k));
  if (extra.length) fail(`${extra.map(flag).join(', ')} cannot be used with ${what}`);
}

function agentAddress(values: Values, env: Readonly<Record<string, string | undefined>>): AgentAddress {
  const socket = one(values, 'socket');
  const urlText = one(values, 'url') ?? (socket === undefined ? env.BPFSTEER_ZITI_URL || undefined : undefined);
  const tokenFile = one(values, 'token-file');
  if (socket !== undefined && one(values, 'url') !== undefined) fail('--socket and --url exclude each other');
  if (urlText === undefined) {
    if (tokenFile !== undefined) fail('--token-file is only used with --url');
    const path = socket ?? (env.BPFSTEER_ZITI_SOCKET || DEFAULT_SOCKET);
    if (!path.startsWith('/') || path.includes('\0')) fail(`socket ${JSON.stringify(path)} must be an absolute path`);
    return { kind: 'socket', path };
  }
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return fail(`--url ${JSON.stringify(urlText)} is not a URL; accepted: http://host:port`);
  }
  if (url.protocol !== 'http:' || !url.hostname || url.username || url.password || (url.pathname !== '/' && url.pathname !== '')) {
    fail(`--url ${JSON.stringify(urlText)} is not accepted; accepted: http://host:port`);
  }
  const token = env.BPFSTEER_ZITI_TOKEN || undefined;
  if (tokenFile === undefined && token === undefined) fail('--url needs a bearer token: --token-file FILE or BPFSTEER_ZITI_TOKEN');
  return { kind: 'url', url: url.origin, ...(tokenFile !== undefined ? { tokenFile } : { token }) };
}

function positionalRequest(as: InvokedAs, positionals: string[]): DiverterRequest {
  if (as === 'map_update') {
    if (positionals.length !== 6) {
      fail(`map_update takes 6 arguments (<ip> <prefix-len> <low-port> <high-port> <tproxy-port> <6|17>), got ${positionals.length}`);
    }
    const [ip, len, lowText, highText, tproxyText, protoText] = positionals;
    const destination = cidr(ip, len, 'destination');
    const low = port(lowText, 'low port');
    const high = port(highText, 'high port');
    if (low > high) fail(`low port ${low} is above high port ${high}`);
    const tproxyPort = port(tproxyText, 'tproxy port');
    const base = { destination: destination.text, source: anyPrefix(destination.family).text, protocol: protocolNumber(protoText), ports: { low, high } };
    return { command: 'insert', body: tproxyPort === 0 ? { ...base, action: 'pass' } : { ...base, action: 'divert', tproxyPort } };
  }
  if (positionals.length !== 4) {
    fail(`map_delete takes 4 arguments (<ip> <prefix-len> <low-port> <6|17>), got ${positionals.length}`);
  }
  const [ip, len, lowText, protoText] = positionals;
  const destination = cidr(ip, len, 'destination');
  return {
    command: 'delete',
    body: {
      destination: destination.text,
      source: anyPrefix(destination.family).text,
      protocol: protocolNumber(protoText),
      ports: { low: port(lowText, 'low port') },
    },
  };
}

/** map_update / map_delete: the seed's positional forms and the intermediate -I / -D forms. */
function legacyRequest(as: InvokedAs, values: Values, positionals: string[]): DiverterRequest {
  const rest = given(values).filter((k) => !connectionOptions.includes(k));
  if (positionals.length > 0 || rest.length === 0) {
    if (rest.length) fail(`${rest.map(flag).join(', ')} cannot be mixed with positional arguments`);
    return positionalRequest(as, positionals);
  }
  if (values.insert && as === 'map_update') {
    onlyAllowed(values, ['insert', 'cidr-block', 'dprefix-len', 'low-port', 'high-port', 'tproxy-port', 'protocol'], `${as} -I`);
    return { command: 'insert', body: insertBody(values) };
  }
  if (values.delete) {
    onlyAllowed(values, ['delete', 'cidr-block', 'dprefix-len', 'low-port', 'high-port', 'protocol'], `${as} -D`);
    return { command: 'delete', body: deleteBody(values) };
  }
  return fail(as === 'map_update' ? 'map_update needs 6 positional arguments, -I or -D' : 'map_delete needs 4 positional arguments or -D');
}

function diverterRequest(values: Values, positionals: string[]): DiverterRequest {
  if (positionals.length) fail(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const commands = commandOptions.filter((k) => values[k] !== undefined && values[k] !== false);
  if (commands.length === 0) fail('no command given: use one of -V, -I, -D, -L, -F, -M, -e, -x (or --help)');
  if (commands.length > 1) fail(`${commands.map(flag).join(' and ')} exclude each other; give one command`);
  switch (commands[0]) {
    case 'help':
      onlyAllowed(values, ['help'], '--help');
      return { command: 'help' };
    case 'version':
      onlyAllowed(values, ['version'], '-V');
      return { command: 'version' };
    case 'insert':
      onlyAllowed(
        values,
        ['insert', 'cidr-block', 'dprefix-len', 'ocidr-block', 'oprefix-len', 'low-port', 'high-port', 'tproxy-port', 'protocol', 'interface', 'service-id', 'deny'],
        '-I',
      );
      return { command: 'insert', body: insertBody(values) };
    case 'delete':
      onlyAllowed(values, ['delete', 'cidr-block', 'dprefix-len', 'ocidr-block', 'oprefix-len', 'low-port', 'high-port', 'protocol', 'interface', 'service-id'], '-D');
      return { command: 'delete', body: deleteBody(values) };
    case 'list': {
      onlyAllowed(values, ['list', 'intercepts', 'passthrough', 'interfaces', 'json'], '-L');
      const json = values.json === true;
      if (values.interfaces) {
        if (values.intercepts || values.passthrough) fail('-E lists interfaces; it cannot be combined with -i or -f');
        return { command: 'list-interfaces', json };
      }
      if (values.intercepts && values.passthrough) fail('-i (intercepts only) and -f (pass-through only) exclude each other');
      return { command: 'list', filter: values.intercepts ? 'intercepts' : values.passthrough ? 'passthrough' : 'all', json };
    }
    case 'flush':
      onlyAllowed(values, ['flush'], '-F');
      return { command: 'flush' };
    case 'monitor':
      onlyAllowed(values, ['monitor', 'json'], '-M');
      return { command: 'monitor', json: values.json === true };
    case 'icmp-echo':
      onlyAllowed(values, ['icmp-echo'], '-e');
      return { command: 'set-interface', name: interfaceName(one(values, 'icmp-echo')!, 'interface (-e)'), settings: { echo: true } };
    default:
      onlyAllowed(values, ['disable-ssh'], '-x');
      return { command: 'set-interface', name: interfaceName(one(values, 'disable-ssh')!, 'interface (-x)'), settings: { ssh: false } };
  }
}

/** What node:util's parseArgs gives this parser: the values, the positionals, and how often each option was given. */
interface Scanned {
  readonly values: Values;
  readonly positionals: string[];
  readonly counts: Map<string, number>;
}

const byShort = new Map<string, OptionName>(
  Object.entries(options).flatMap(([name, o]) => ('short' in o ? [[`-${o.short}`, name as OptionName] as const] : [])),
);

/**
 * The arguments as parseArgs reads them, without it, when each is a single option (`-c` or
 * `--cidr-block`), a string option's value that does not start with "-", or a positional that
 * does not either: every vector a router builds. Anything else (joined short flags, `--a=b`,
 * `--`, a value starting with "-", an unknown option) is left to parseArgs: undefined. parseArgs
 * costs ~75 µs per call (it looks each short option up among all of them); a router makes one call
 * per service address. test/cli.fuzz.test.ts holds both to the same results.
 */
function scanPlain(argv: readonly string[]): Scanned | undefined {
  const values: Record<string, string[] | boolean> = Object.create(null);
  const positionals: string[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.length === 0 || arg[0] !== '-') {
      positionals.push(arg);
      continue;
    }
    const name = arg[1] === '-' ? (Object.hasOwn(options, arg.slice(2)) ? (arg.slice(2) as OptionName) : undefined) : byShort.get(arg);
    if (name === undefined) return undefined;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (options[name].type === 'boolean') {
      values[name] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined || value.startsWith('-')) return undefined;
    ((values[name] as string[] | undefined) ?? (values[name] = [])).push(value);
  }
  return { values: values as Values, positionals, counts };
}

function scanWithParseArgs(argv: readonly string[]): Scanned {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true });
  } catch (err) {
    return fail((err instanceof Error ? err.message : String(err)).split('\n')[0]);
  }
  const counts = new Map<string, number>();
  for (const token of parsed.tokens) {
    if (token.kind === 'option') counts.set(token.name, (counts.get(token.name) ?? 0) + 1);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals, counts };
}

/** The arguments as parseArgs reads them (scanPlain for the plain ones); throws UsageError. */
export function scanDiverterArgs(argv: readonly string[]): Scanned {
  return scanPlain(argv) ?? scanWithParseArgs(argv);
}

/** Both scans, for the test that holds scanPlain to parseArgs' results. */
export const scansForTest = { plain: scanPlain, parseArgs: scanWithParseArgs };

/** Parses the arguments after the program name. Never throws. */
export function parseDiverterArgs(argv: readonly string[], opts: ParseOptions): ParsedArgs {
  try {
    const { values, positionals, counts } = scanDiverterArgs(argv);
    for (const [name, count] of counts) {
      if (count > 1 && name !== 'interface') fail(`${flag(name as OptionName)} is given ${count} times; give it once`);
    }
    const agent = agentAddress(values, opts.env ?? {});
    if (values.help) {
      onlyAllowed(values, ['help'], '--help');
      return { ok: true, request: { command: 'help' }, agent };
    }
    const request =
      opts.invokedAs === 'bpfsteer-diverter' ? diverterRequest(values, positionals) : legacyRequest(opts.invokedAs, values, positionals);
    return { ok: true, request, agent };
  } catch (err) {
    if (err instanceof UsageError) return { ok: false, error: err.message };
    return { ok: false, error: `cannot parse the arguments: ${err instanceof Error ? err.message : String(err)}` };
  }
}
