import type { CommandRegistration } from '../cli-context.js';

/** `bpfsteer validate -c <file>`: exit 0 when the config is valid, 1 with every problem otherwise. */
export const validateCommand: CommandRegistration = (program, context) => {
  program
    .command('validate')
    .description('check a config file: exit 0 when valid, 1 listing every problem')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(async (opts: { config: string }) => {
      const { validateConfig } = await import('./validate-config.js');
      context.exitCode = await validateConfig(opts.config, context);
    });
};
