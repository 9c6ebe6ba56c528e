import { AgentUnavailableError, adminRequest } from '@bpfsteer/agent-kernel';
import { type CliContext, ExitCode } from '../cli-context.js';

/** The running agent's answer to GET `path` on its admin socket; undefined (said, exit 1) when none answers. */
export async function askAgent(context: CliContext, socket: string, path: string): Promise<Awaited<ReturnType<typeof adminRequest>> | undefined> {
  try {
    return await adminRequest(socket, path);
  } catch (err) {
    if (!(err instanceof AgentUnavailableError)) throw err;
    context.stderr.write(`bpfsteer: ${err.message}\n`);
    context.exitCode = ExitCode.failure;
    return undefined;
  }
}
