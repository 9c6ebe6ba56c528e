import { type CommandRegistration, ExitCode } from '../cli-context.js';
import { defaultAdminSocket } from './admin-socket.js';

/**
 * `bpfsteer health [--socket PATH] [--alive]`: for probes that can only run a command (a Kubernetes
 * exec probe cannot reach a unix socket). Exit 0 when the agent answers `GET /v1/health` with 200
 * (running, every plugin running), 1 otherwise; with `--alive`, exit 0 whenever the agent answers
 * at all (a liveness probe: a failed plugin is no reason to restart the agent).
 */
export const healthCommand: CommandRegistration = (program, context) => {
  program
    .command('health')
    .description('exit 0 when the agent is healthy (every plugin running), 1 otherwise; --alive: when it answers at all')
    .option('-s, --socket <path>', 'admin socket of the agent', defaultAdminSocket)
    .option('--alive', 'only check that the agent answers')
    .action(async (opts: { socket: string; alive?: boolean }) => {
      const { askAgent } = await import('./ask-agent.js');
      const answer = await askAgent(context, opts.socket, '/v1/health');
      if (!answer) return;
      const healthy = answer.status === 200;
      context.stdout.write(`${JSON.stringify(answer.body)}\n`);
      context.exitCode = healthy || opts.alive ? ExitCode.ok : ExitCode.failure;
    });
};
