/**
 * `bpfsteer demo [scenario...]`: runs the named scenarios (default: all, see scenarios.ts), each in
 * its own throw-away lab with the agent on an embedded config. Each shows traffic failing (or not
 * steered), steered while the agent runs, and back as before once it stops, and prints one line per
 * proof (`PROVEN: ...` / `NOT PROVEN: ...`). What a scenario made (lab, agent, pins, cgroups,
 * processes) is removed when it ends, also when it fails, and on Ctrl-C (SIGINT) or SIGTERM.
 * Returns the process exit code: 0 when every proof held, 1 otherwise, 2 for an unknown scenario.
 */
import { demoScenarios } from './scenarios.js';
import { Teardown } from './scenario.js';

export interface DemoOptions {
  readonly out: NodeJS.WritableStream;
  /** where usage errors go (default: out) */
  readonly err?: NodeJS.WritableStream;
  readonly printConfig?: boolean;
  /** scenario names; empty or absent: all */
  readonly scenarios?: readonly string[];
}

export const demoScenarioNames: readonly string[] = demoScenarios.map((s) => s.name);

export async function runDemo({ out, err, printConfig = false, scenarios = [] }: DemoOptions): Promise<number> {
  const say = (line = ''): void => void out.write(`${line}\n`);
  const unknown = scenarios.filter((name) => !demoScenarioNames.includes(name));
  if (unknown.length) {
    (err ?? out).write(`bpfsteer demo: unknown scenario ${unknown.map((n) => JSON.stringify(n)).join(', ')}; the scenarios: ${demoScenarioNames.join(', ')}\n`);
    return 2;
  }
  const selected = scenarios.length ? demoScenarios.filter((s) => scenarios.includes(s.name)) : demoScenarios;

  let current: Teardown | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    say(`\ninterrupted (${signal}): removing what the scenario made`);
    void (current?.run() ?? Promise.resolve([])).then((problems) => {
      for (const p of problems) say(`  cleanup problem: ${p}`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  let held = 0;
  let total = 0;
  let clean = true;
  try {
    for (const scenario of selected) {
      const teardown = (current = new Teardown());
      const at = Date.now();
      let mine = 0;
      let mineHeld = 0;
      // once interrupted, what the scenario still says (its steps failing as their lab goes) is not shown
      const prove = (ok: boolean, what: string): void => {
        mine += 1;
        if (ok) mineHeld += 1;
        if (!interrupted) say(`    ${ok ? 'PROVEN' : 'NOT PROVEN'}: ${what}`);
      };
      say(`\n[${scenario.name}] ${scenario.title}`);
      try {
        await scenario.run({ say: (line = '') => void (interrupted || say(line.replace(/^/gm, '  '))), printConfig, teardown, prove });
      } catch (e) {
        prove(false, `the scenario ran to its end (${(e as Error).message})`);
      } finally {
        const problems = await teardown.run();
        for (const p of problems) say(`  cleanup problem: ${p}`);
        if (problems.length) clean = false;
        current = undefined;
      }
      held += mineHeld;
      total += mine;
      say(`  ${scenario.name}: ${mineHeld}/${mine} proofs held (${((Date.now() - at) / 1000).toFixed(1)} s)`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  say(`\n${held}/${total} proofs held in ${selected.length} scenario${selected.length === 1 ? '' : 's'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return held === total && clean ? 0 : 1;
}
