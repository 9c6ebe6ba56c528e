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
import { parseDiverterArgs } from './parse-diverter-args.js';

/** What the native client sends (POST /v1/diverter) and keeps in the spool while the agent is away. */
const listeningPorts = z.array(z.number().int().min(0).max(65535)).max(65536);

export const forwardedCallSchema = z.strictObject({
  program: z.enum(['bpfsteer-diverter', 'map_update', 'map_delete']),
  args: z.array(z.string().max(4096)).max(256),
  /**
   * with a delete: the TCP and UDP ports listening on the loopback or every address where the
   * client ran (the router's netns): of a rule several services share, the wishes whose listener
   * is gone are removed (rule-owners.ts)
   */
  listening: z.strictObject({ tcp: listeningPorts, udp: listeningPorts }).optional(),
});

export type ForwardedCall = z.output<typeof forwardedCallSchema>;

export interface ForwardedCallIo extends DiverterOutput {
  readonly stderr: { write(text: string): unknown };
}

/** What a call gave: its exit status (0 done, 1 refused, 2 usage); `transient` when it was refused for a reason that may pass (DiverterRefusedError.transient). */
export interface ForwardedResult {
  readonly status: number;
  readonly transient: boolean;
}

/** Runs `call`; never rejects. */
export async function runForwardedCall(call: ForwardedCall, calls: DiverterCalls, io: ForwardedCallIo): Promise<ForwardedResult> {
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
    const { name, version } = packageInfo();
    io.stdout.write(`agent ${name} ${version}, API v1\n`);
    return { status: EXIT_OK, transient: false };
  }
  try {
    const run = request.command === 'delete' && call.listening ? { ...request, body: { ...request.body, listening: call.listening } } : request;
    return { status: await executeRequest(run, calls, io), transient: false };
  } catch (err) {
    io.stderr.write(`${as}: ${err instanceof Error ? err.message : String(err)}\n`);
    return { status: EXIT_AGENT, transient: err instanceof DiverterRefusedError && err.transient };
  }
}

/** Runs `call` with its output collected (a kept call, run by the spool). */
export async function runCollected(call: ForwardedCall, calls: DiverterCalls): Promise<ForwardedResult & { stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const result = await runForwardedCall(call, calls, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { ...result, stdout, stderr };
}
