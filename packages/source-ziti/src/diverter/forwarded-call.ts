/**
 * A call of the native client (native/bpfsteer-diverter.c) run by the agent: the program name and
 * arguments exactly as the router gave them, parsed by the one parser (parse-diverter-args.ts)
 * and run by the one executor (execute-request.ts). The agent's own address options of the Node
 * CLI (--socket, --url) mean nothing here and are ignored.
 */
import { z } from 'zod';
import { packageInfo } from '../version.js';
import { shortUsage, usageText } from './diverter-usage.js';
import { DiverterRefusedError, EXIT_AGENT, EXIT_OK, EXIT_USAGE, executeRequest, type DiverterCalls, type DiverterOutput } from './execute-request.js';
import { parseDiverterArgs, type InsertBody } from './parse-diverter-args.js';
import type { Caller } from '../router-generations.js';
import type { RuleIdentity } from '../rule.js';

/** What the native client sends (POST /v1/diverter) and keeps in the spool while the agent is away. */
const listeningPorts = z.array(z.number().int().min(0).max(65535)).max(65536);

export const forwardedCallSchema = z.strictObject({
  program: z.enum(['bpfsteer-diverter', 'map_update', 'map_delete']),
  args: z.array(z.string().max(4096)).max(256),
  /**
   * with a delete, and an insert of an IPv6 address: the TCP and UDP ports listening where the
   * client ran (the router's netns) that can take a diverted IPv4 connection (tcp, udp:
   * 127.0.0.1, 0.0.0.0, [::]) and an IPv6 one (tcp6, udp6: [::1], [::]). Of a rule several
   * services share, a delete removes the wishes whose listener is gone (rule-owners.ts), by the
   * list of the rule's family; an IPv6 divert rule nothing of IPv6 listens for is refused
   * (divertableHere)
   */
  listening: z.strictObject({ tcp: listeningPorts, udp: listeningPorts, tcp6: listeningPorts, udp6: listeningPorts }).optional(),
  /** the process that ran the client (the router): its pid and start time (router-generations.ts) */
  caller: z.strictObject({ pid: z.number().int().min(1), start: z.number().int().min(0) }).optional(),
});

export type ForwardedCall = z.output<typeof forwardedCallSchema>;

export interface ForwardedCallIo extends DiverterOutput {
  readonly stderr: { write(text: string): unknown };
}

/**
 * Why a divert rule of an IPv6 destination cannot divert where the client runs, or undefined. The
 * datapath hands an IPv6 connection only to a socket of IPv6 listening on [::1] (or [::]) at the
 * tproxy port; an OpenZiti router opens its listeners on 127.0.0.1 alone, even for an IPv6
 * intercept (openziti/ziti tproxy_linux.go), so such a rule would take the connections and drop
 * them: refused with exit 1 rather than kept with exit 0.
 */
function divertableHere(rule: InsertBody, listening: NonNullable<ForwardedCall['listening']>): string | undefined {
  if (rule.action !== 'divert' || !rule.destination.includes(':')) return undefined;
  const ports = rule.protocol === 'tcp' ? listening.tcp6 : listening.udp6;
  if (ports.includes(rule.tproxyPort!)) return undefined;
  const v4 = (rule.protocol === 'tcp' ? listening.tcp : listening.udp).includes(rule.tproxyPort!);
  return (
    `${rule.destination} is an IPv6 destination, but nothing of IPv6 listens on ${rule.protocol} port ${rule.tproxyPort} here` +
    `${v4 ? ' (only an IPv4 socket: the OpenZiti router listens on 127.0.0.1 alone, also for IPv6 intercepts)' : ''}; ` +
    'its connections could not be diverted, so the rule is not added. Intercept the service\'s IPv4 addresses'
  );
}

/** The ports a delete of `destination` judges its wishes by: those where a connection of its family can be diverted. */
function listeningFor(destination: string, listening: NonNullable<ForwardedCall['listening']>): { tcp: number[]; udp: number[] } {
  return destination.includes(':') ? { tcp: listening.tcp6, udp: listening.udp6 } : { tcp: listening.tcp, udp: listening.udp };
}

/** What a call gave: its exit status (0 done, 1 refused, 2 usage); `transient` when it was refused for a reason that may pass (DiverterRefusedError.transient). */
export interface ForwardedResult {
  readonly status: number;
  readonly transient: boolean;
}

/** What a router's calls tell about its restarts (router-generations.ts). */
export interface RouterWatch {
  started(caller: Caller): void;
  inserted(rule: RuleIdentity, service: string, caller: Caller): void;
}

/** Runs `call`; never rejects. `router`: told of each -V and insert that names its caller. */
export async function runForwardedCall(call: ForwardedCall, calls: DiverterCalls, io: ForwardedCallIo, router?: RouterWatch): Promise<ForwardedResult> {
  const as = call.program;
  const parsed = parseDiverterArgs(call.args, { invokedAs: as, env: {} });
  if (!parsed.ok) {
    io.stderr.write(`${as}: ${parsed.error}\n${shortUsage(as)}\n`);
    return { status: EXIT_USAGE, transient: false };
  }
  const { request } = parsed;
  if (request.command === 'help') {
    io.stdout.write(`${usageText(as)}\n`);
    return { status: EXIT_OK, transient: false };
  }
  if (request.command === 'version') {
    if (call.caller) router?.started(call.caller);
    const { name, version } = packageInfo();
    io.stdout.write(`agent ${name} ${version}, API v1\n`);
    return { status: EXIT_OK, transient: false };
  }
  const listening = call.listening;
  if (request.command === 'insert' && listening) {
    const refused = divertableHere(request.body, listening);
    if (refused) {
      io.stderr.write(`${as}: ${refused}\n`);
      return { status: EXIT_AGENT, transient: false };
    }
  }
  // before it runs: a sweep queued meanwhile must see this wish as the router's
  if (request.command === 'insert' && call.caller && request.body.service !== undefined) router?.inserted(request.body, request.body.service, call.caller);
  try {
    const run = request.command === 'delete' && listening ? { ...request, body: { ...request.body, listening: listeningFor(request.body.destination, listening) } } : request;
    return { status: await executeRequest(run, calls, io), transient: false };
  } catch (err) {
    io.stderr.write(`${as}: ${err instanceof Error ? err.message : String(err)}\n`);
    return { status: EXIT_AGENT, transient: err instanceof DiverterRefusedError && err.transient };
  }
}

/** Runs `call` with its output collected (a kept call, run by the spool). */
export async function runCollected(call: ForwardedCall, calls: DiverterCalls, router?: RouterWatch): Promise<ForwardedResult & { stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } };
  const result = await runForwardedCall(call, calls, io, router);
  return { ...result, stdout, stderr };
}
