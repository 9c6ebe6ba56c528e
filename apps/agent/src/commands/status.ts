import type { AgentStatusReport } from '@bpfsteer/agent-kernel';
import { type CommandRegistration, ExitCode } from '../cli-context.js';
import { defaultAdminSocket } from './admin-socket.js';

/** `bpfsteer status [--socket PATH] [--json]`: asks the running agent over its admin socket. */
export const statusCommand: CommandRegistration = (program, context) => {
  program
    .command('status')
    .description('show the running agent: plugins, states, attachments, map entries, sources')
    .option('-s, --socket <path>', 'admin socket of the agent', defaultAdminSocket)
    .option('--json', 'print the raw JSON status')
    .action(async (opts: { socket: string; json?: boolean }) => {
      const { askAgent } = await import('./ask-agent.js');
      const answer = await askAgent(context, opts.socket, '/v1/status');
      if (!answer) return;
      if (answer.status !== 200) {
        context.stderr.write(`bpfsteer: the agent answered HTTP ${answer.status}: ${JSON.stringify(answer.body)}\n`);
        context.exitCode = ExitCode.failure;
        return;
      }
      if (opts.json) context.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
      else context.stdout.write((await import('../format-status.js')).formatStatus(answer.body as AgentStatusReport));
      context.exitCode = ExitCode.ok;
    });
};
