/**
 * Runs one invocation of this package's `bpfsteer-diverter` CLI (Node): parse, talk to the agent
 * over HTTP (its unix socket, or TCP with a bearer token), print. Returns the exit status: 0 done,
 * 1 the agent refused or cannot be reached, 2 usage error. The router runs the native client
 * instead (native/bpfsteer-diverter.c), whose calls the agent parses and runs with the same
 * parser and executor (forwarded-call.ts).
 */
import { readFile, stat } from 'node:fs/promises';
import { packageInfo } from '../version.js';
import { AgentUnreachableError, agentLocation, agentRequest, agentStream, type ResolvedAgent } from './agent-client.js';
import { shortUsage, usageText } from './diverter-usage.js';
import { DiverterRefusedError, EXIT_AGENT, EXIT_OK, EXIT_USAGE, executeRequest, refusal, type DiverterCalls } from './execute-request.js';
import { parseDiverterArgs, type AgentAddress, type InvokedAs } from './parse-diverter-args.js';

export { EXIT_AGENT, EXIT_OK, EXIT_USAGE };

export interface DiverterIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** aborts -M (SIGINT) */
  readonly signal?: AbortSignal;
}

async function resolveAgent(address: AgentAddress): Promise<ResolvedAgent> {
  if (address.kind === 'socket') return { address };
  if (address.token !== undefined) return { address, token: address.token };
  const file = address.tokenFile!;
  const info = await stat(file);
  if (info.mode & 0o004) throw new DiverterRefusedError(`token file ${file} is world-readable; run \`chmod o-rwx ${file}\``);
  return { address, token: (await readFile(file, 'utf8')).trim() };
}

/** The API over HTTP (agent-client.ts). */
function httpCalls(agent: ResolvedAgent): DiverterCalls {
  return {
    async call(method, path, body) {
      const response = await agentRequest(agent, method, path, body);
      if (response.status >= 400) throw refusal(response.status, response.body);
      return response.body;
    },
    async events(onLine, signal) {
      const { ended } = await agentStream(agent, '/v1/events', onLine, signal);
      return ended === 'agent' ? 'agent' : 'client';
    },
  };
}

/** -V: this CLI's version and the agent's; exit 1 when the agent does not answer. */
async function printVersion(agent: ResolvedAgent, io: DiverterIo): Promise<number> {
  const response = await agentRequest(agent, 'GET', '/v1/version', undefined, 5000);
  const body = response.body as { name?: unknown; version?: unknown; api?: unknown } | undefined;
  if (response.status !== 200 || typeof body?.version !== 'string') {
    throw new AgentUnreachableError(agentLocation(agent.address), `/v1/version failed: ${refusal(response.status, response.body).message}`);
  }
  io.stdout.write(`bpfsteer-diverter ${packageInfo().version} (agent ${String(body.name)} ${body.version}, API ${String(body.api)})\n`);
  return EXIT_OK;
}

/** Runs the diverter with `argv` (after the program name) as `as`. */
export async function runDiverter(argv: readonly string[], as: InvokedAs, io: DiverterIo): Promise<number> {
  const parsed = parseDiverterArgs(argv, { invokedAs: as, env: io.env });
  if (!parsed.ok) {
    io.stderr.write(`${as}: ${parsed.error}\n${shortUsage(as)}\n`);
    return EXIT_USAGE;
  }
  const { request } = parsed;
  if (request.command === 'help') {
    io.stdout.write(`${usageText(as)}\n`);
    return EXIT_OK;
  }
  try {
    const agent = await resolveAgent(parsed.agent);
    if (request.command === 'version') return await printVersion(agent, io);
    return await executeRequest(request, httpCalls(agent), io);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`${as}: ${message}\n`);
    return EXIT_AGENT;
  }
}
