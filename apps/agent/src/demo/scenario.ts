/**
 * What every `bpfsteer demo` scenario is made of: a name, a short description, and a run that
 * builds its own throw-away lab, starts the agent on an embedded config, and reports proofs. The
 * runner (run-demo.ts) prints, counts the proofs and tears everything down, also on Ctrl-C.
 */
import { rmdirSync } from 'node:fs';
import { createAgent, createLogger, type Agent } from '@bpfsteer/agent-kernel';
import type { SocketHandles } from '@bpfsteer/core-bpf';
import type { NetLab } from '@bpfsteer/netlab';
import { stringify } from 'yaml';
import { builtinModulesFor } from '../builtins.js';
import { coreBpfFeatureProbe } from '../load-feature-probe.js';

export interface DemoScenario {
  /** the name on the command line: `bpfsteer demo <name>` */
  readonly name: string;
  /** one line: what it shows and with which plugins and sources */
  readonly title: string;
  run(demo: ScenarioContext): Promise<void>;
}

export interface ScenarioContext {
  /** prints one line (indented by the caller as it likes) */
  say(line?: string): void;
  /** whether to print the embedded agent config */
  readonly printConfig: boolean;
  /** what this scenario made, undone in reverse order at its end, on failure and on Ctrl-C */
  readonly teardown: Teardown;
  /** one proof: prints `PROVEN: what` or `NOT PROVEN: what` and counts it */
  prove(held: boolean, what: string): void;
}

/** Undo steps, each run once, the last registered first; errors are collected, never thrown half-way. */
export class Teardown {
  readonly #steps: { what: string; undo: () => unknown }[] = [];
  #running?: Promise<string[]>;

  /** Registers an undo step; returns a function that runs it now (once) and forgets it. */
  defer(what: string, undo: () => unknown): () => Promise<void> {
    const step = { what, undo };
    this.#steps.push(step);
    let done: Promise<void> | undefined;
    return () => {
      const i = this.#steps.indexOf(step);
      if (i >= 0) this.#steps.splice(i, 1);
      done ??= Promise.resolve().then(undo).then(() => undefined);
      return done;
    };
  }

  /** Runs every step left (last first); resolves with the problems ("what: error"). Idempotent. */
  run(): Promise<string[]> {
    this.#running ??= (async () => {
      const problems: string[] = [];
      for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
        try {
          await step.undo();
        } catch (err) {
          problems.push(`${step.what}: ${(err as Error).message}`);
        }
      }
      this.#running = undefined;
      return problems;
    })();
    return this.#running;
  }
}

/** The pin root of a scenario's agent: unique like its lab; removed at the end if empty (never forced). */
export function demoPinRoot(lab: NetLab, teardown: Teardown): string {
  const pinRoot = `/sys/fs/bpf/bpfsteer-${lab.id}`;
  teardown.defer(`remove ${pinRoot}`, () => {
    try {
      rmdirSync(pinRoot);
    } catch (err) {
      // absent is fine; something still pinned there is left for inspection
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  });
  return pinRoot;
}

export interface DemoAgent {
  readonly agent: Agent;
  /** stops the agent without keeping its pins (what `bpfsteer run` does on SIGTERM) */
  stop(): Promise<void>;
}

/**
 * Starts an agent in this process on `config` with the built-in modules it selects (as `bpfsteer
 * run` does) and checks that every plugin and source runs; its stop is registered in `teardown`.
 */
export async function startDemoAgent(config: Record<string, unknown>, teardown: Teardown, options: { socketHandles?: SocketHandles } = {}): Promise<DemoAgent> {
  const agent = createAgent({
    modules: await builtinModulesFor(config),
    config,
    logger: createLogger({ level: 'warn' }),
    featureProbe: coreBpfFeatureProbe,
    ...(options.socketHandles && { socketHandles: options.socketHandles }),
  });
  const stop = teardown.defer('stop the agent', () => agent.stop({ keepPinned: false }));
  await agent.start();
  const status = await agent.status();
  const failed = [
    ...status.plugins.filter((p) => p.state !== 'running').map((p) => `plugin ${p.id}: ${p.error ?? p.state}`),
    ...status.sources.filter((s) => s.state !== 'running').map((s) => `source ${s.type}: ${s.error ?? s.state}`),
  ];
  if (failed.length) throw new Error(`the agent does not run everything: ${failed.join('; ')}`);
  return { agent, stop };
}

/**
 * The details of one plugin's status (what `bpfsteer status` shows), fresh: a plugin thread that
 * does not answer within the agent's short wait is shown with its last status (`statusAt`), so ask
 * again for a while before taking that one.
 */
export async function pluginDetails<T>(agent: Agent, id: string): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    const report = (await agent.status()).plugins.find((p) => p.id === id) as { details?: unknown; statusAt?: string } | undefined;
    if (!report?.statusAt || attempt >= 40) return report?.details as T | undefined;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `address:port`, an IPv6 address in brackets. */
export function endpoint(address: string, port: number | string): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** The embedded config as YAML, indented for the demo's output. */
export function configText(config: Record<string, unknown>): string {
  return stringify(config).trimEnd().replace(/^/gm, '    ');
}
