import { ConfigError, contributedFactories, readAgentConfigFile } from '@bpfsteer/agent-kernel';
import { type CommandRegistration, ExitCode } from '../cli-context.js';

/** `bpfsteer validate -c <file>`: exit 0 when the config is valid, 1 with every problem otherwise. */
export const validateCommand: CommandRegistration = (program, context) => {
  program
    .command('validate')
    .description('check a config file: exit 0 when valid, 1 listing every problem')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(async (opts: { config: string }) => {
      try {
        const config = await readAgentConfigFile(opts.config, async (document) =>
          contributedFactories(...(await context.modulesFor(document))),
        );
        const plugins = config.plugins.map((p) => p.id).join(', ') || 'none';
        const sources = config.sources.map((s) => s.name).join(', ') || 'none';
        context.stdout.write(`${opts.config}: valid (plugins: ${plugins}; sources: ${sources})\n`);
        context.exitCode = ExitCode.ok;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        context.stderr.write(`${err.message}\n`);
        context.exitCode = ExitCode.failure;
      }
    });
};
