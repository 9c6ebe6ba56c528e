import { type CommandRegistration } from '../cli-context.js';

/** `bpfsteer demo [scenario...]`: the agent on an embedded config per scenario, each in a throw-away netns lab. */
export const demoCommand: CommandRegistration = (program, context) => {
  program
    .command('demo')
    .description('build a throw-away netns lab per scenario and show the agent steering real traffic (needs root)')
    .argument('[scenario...]', 'nexthop, tproxy, ambient, connect (default: all)')
    .option('--print-config', 'also print the embedded agent config')
    .action(async (scenarios: string[], opts: { printConfig?: boolean }) => {
      // the lab (netlab) is loaded only for the demo
      const { runDemo } = await import('../demo/run-demo.js');
      context.exitCode = await runDemo({ out: context.stdout, err: context.stderr, printConfig: opts.printConfig ?? false, scenarios });
    });
};
