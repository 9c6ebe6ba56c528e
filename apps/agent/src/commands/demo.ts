import { type CommandRegistration } from '../cli-context.js';

/** `bpfsteer demo`: the agent on its embedded default config, in a throw-away netns lab. */
export const demoCommand: CommandRegistration = (program, context) => {
  program
    .command('demo')
    .description('build a throw-away netns lab and show the agent steering real traffic (needs root)')
    .option('--print-config', 'also print the embedded agent config')
    .action(async (opts: { printConfig?: boolean }) => {
      // the lab (netlab) is loaded only for the demo
      const { runDemo } = await import('../demo/run-demo.js');
      context.exitCode = await runDemo({ out: context.stdout, printConfig: opts.printConfig ?? false });
    });
};
