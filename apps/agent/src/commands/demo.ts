import { type CommandRegistration } from '../cli-context.js';
import { runDemo } from '../demo/run-demo.js';

/** `bpfsteer demo`: the agent on its embedded default config, in a throw-away netns lab. */
export const demoCommand: CommandRegistration = (program, context) => {
  program
    .command('demo')
    .description('build a throw-away netns lab and show the agent steering real traffic (needs root)')
    .option('--print-config', 'also print the embedded agent config')
    .action(async (opts: { printConfig?: boolean }) => {
      context.exitCode = await runDemo({ out: context.stdout, printConfig: opts.printConfig ?? false });
    });
};
