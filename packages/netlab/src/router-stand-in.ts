/**
 * A stand-in for an OpenZiti router's process as its diverter sees it: it runs the diverter for
 * each argument vector it is sent, one after another, and reports its exit status and output, as
 * openziti/ziti tunnel/intercept/tproxy/tproxy_linux.go does (exec.Command(...).CombinedOutput(),
 * one call at a time under the service lock). The diverter's parent process is then this one, as
 * it is the router in the field, and it runs in the router's network namespace when one is given.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const ROUTER = String.raw`
const { spawnSync } = require('node:child_process');
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const r = spawnSync(process.env.BPFSTEER_STAND_IN_DIVERTER, JSON.parse(line), { encoding: 'utf8' });
  console.log(JSON.stringify({ code: r.status, stdout: r.stdout, stderr: r.stderr }));
});
`;

export interface DiverterRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RouterStandIn {
  readonly pid: number;
  /** runs the diverter with `args`, after every call sent before */
  run(args: readonly string[]): Promise<DiverterRun>;
  /** ends the process (as a router that exits); resolves once it exited */
  stop(): Promise<void>;
}

export interface RouterStandInOptions {
  /** the diverter program (its name selects map_update / map_delete) */
  readonly diverter: string;
  /** the diverter's environment */
  readonly env?: NodeJS.ProcessEnv;
  /** the router's network namespace (a path or a name under /var/run/netns) */
  readonly netns?: string;
}

export function startRouterStandIn(options: RouterStandInOptions): RouterStandIn {
  const env = { ...(options.env ?? process.env), BPFSTEER_STAND_IN_DIVERTER: options.diverter };
  const argv = [process.execPath, '-e', ROUTER];
  const nsPath = options.netns === undefined ? undefined : options.netns.startsWith('/') ? options.netns : `/var/run/netns/${options.netns}`;
  // nsenter execs node: the stand-in's pid is the child's
  const child = nsPath ? spawn('nsenter', [`--net=${nsPath}`, '--', ...argv], { stdio: ['pipe', 'pipe', 'inherit'], env }) : spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env });
  const answers: ((r: DiverterRun) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => answers.shift()?.(JSON.parse(line) as DiverterRun));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    run: (args) =>
      new Promise((resolve) => {
        answers.push(resolve);
        child.stdin!.write(`${JSON.stringify(args)}\n`);
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.stdin!.end();
      await exited;
    },
  };
}
