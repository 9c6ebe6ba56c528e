// bench/cli-start: how long the `bpfsteer` commands that do little take from spawn to exit (issue 14,
// "CLI start": `--help` and `validate -c <file>` within 2x of `node -e 0`). Timed over interleaved
// rounds (each round runs every row once, in an order rotated from round to round), each command run
// as the bin's shebang runs it (`node <the shebang's flags> dist/bin.js ...`):
//   - `--help`, `--version`, `run --help` (commander and the command declarations only);
//   - `validate -c` of two configs of the READMEs, written to a temp file: the OpenZiti router's of
//     README.md (plugin tc-tproxy, source ziti) and the first of apps/agent/README.md (plugin
//     tc-nexthop, source static); and of a config with no plugin and a static source (what every
//     validate loads: commander, agent-kernel's /config entry, zod, yaml);
// each with Node's compile cache warm (the bin's own cache, compile-cache.ts, in a temp
// XDG_CACHE_HOME filled by two runs of every command first) and cold (NODE_DISABLE_COMPILE_CACHE=1).
// Baseline: `node -e 0` in the same rounds (and `node` with the shebang's flags alone, `-e 0`). One
// more row, `--help` with node's --expose-gc added (the shebang had it until 2026-12-08: it changes
// V8's flag hash, and node's built-in modules are then compiled from source instead of taken from
// node's embedded code cache).
// Figures: median and min ms; "x node -e 0" is the median over rounds of the row's time divided by
// that round's `node -e 0`. Needs the build of apps/agent and its dependencies; no root.
// Usage: node bench/cli-start.bench.mjs [rounds (30)] [bin (apps/agent/dist/bin.js; another build to compare)]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { intArgs } from './int-args.mjs';
import { median } from './stats.mjs';
import { printTable } from './table.mjs';

const USAGE = 'usage: node bench/cli-start.bench.mjs [rounds] [bin]';
const ROUNDS = intArgs(USAGE)(2, 30, 'rounds', 1);
const GOAL = 2;

const bin = process.argv[3] ? resolve(process.argv[3]) : fileURLToPath(new URL('../apps/agent/dist/bin.js', import.meta.url));

/** The shebang's node options of the bin (`#!/usr/bin/env -S node <flags>`). */
function shebangFlags() {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node(?<flags>( \S+)*)\s*$/.exec(first);
  if (!m) throw new Error(`${bin}: unexpected first line ${JSON.stringify(first)}`);
  return m.groups.flags.split(' ').filter(Boolean);
}

/** The first ```yaml block of `readme` (a path from the repository's root) that configures `plugin`. */
function readmeConfig(readme, plugin) {
  const text = readFileSync(new URL(`../${readme}`, import.meta.url), 'utf8');
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  const found = blocks.find((b) => /^plugins:/m.test(b) && new RegExp(`^\\s+- id: ${plugin}\\b`, 'm').test(b));
  if (!found) throw new Error(`${readme} has no config with plugin ${plugin}`);
  return found;
}

const routerYaml = readmeConfig('README.md', 'tc-tproxy');
const nexthopYaml = readmeConfig('apps/agent/README.md', 'tc-nexthop');
const dir = mkdtempSync(join(tmpdir(), 'bpfsteer-cli-start-'));
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const routerConfig = join(dir, 'router.yaml');
const nexthopConfig = join(dir, 'nexthop.yaml');
const staticConfig = join(dir, 'static.yaml');
writeFileSync(routerConfig, routerYaml);
writeFileSync(nexthopConfig, nexthopYaml);
writeFileSync(staticConfig, 'sources: [{ type: static }]\n');

const flags = shebangFlags();
const baseEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
delete baseEnv.NODE_COMPILE_CACHE;
delete baseEnv.NODE_DISABLE_COMPILE_CACHE;
delete baseEnv.NODE_OPTIONS;
const warm = baseEnv;
const cold = { ...baseEnv, NODE_DISABLE_COMPILE_CACHE: '1' };

const commands = [
  { name: 'bpfsteer --help', args: ['--help'], out: /^Usage: bpfsteer / },
  { name: 'bpfsteer --version', args: ['--version'], out: /^\d+\.\d+\.\d+/ },
  { name: 'bpfsteer run --help', args: ['run', '--help'], out: /^Usage: bpfsteer run / },
  { name: 'bpfsteer validate -c (README: tc-tproxy + ziti)', args: ['validate', '-c', routerConfig], out: / valid \(plugins: tc-tproxy; sources: ziti#0\)/ },
  { name: 'bpfsteer validate -c (README: tc-nexthop + static)', args: ['validate', '-c', nexthopConfig], out: / valid \(plugins: tc-nexthop; sources: static#0\)/ },
  { name: 'bpfsteer validate -c (no plugin, static)', args: ['validate', '-c', staticConfig], out: / valid \(plugins: none; sources: static#0\)/ },
];
const rows = [
  { name: 'node -e 0', args: ['-e', '0'], env: baseEnv },
  { name: `node ${flags.join(' ')} -e 0`, args: [...flags, '-e', '0'], env: baseEnv },
  ...commands.map((c) => ({ ...c, name: `${c.name}, cache warm`, args: [...flags, bin, ...c.args], env: warm })),
  ...commands.map((c) => ({ ...c, name: `${c.name}, cache cold`, args: [...flags, bin, ...c.args], env: cold })),
  { ...commands[0], name: `${commands[0].name} with --expose-gc, cache warm`, args: [...flags, '--expose-gc', bin, ...commands[0].args], env: warm },
];

/** Wall ms of one spawn to exit; throws unless it exits 0 with the expected output. */
function timeOnce(row) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, row.args, { env: row.env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 || (row.out && !row.out.test(r.stdout))) {
    throw new Error(`${row.name}: exit ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
  }
  return ms;
}

try {
  // the warm rows' cache: filled by two runs of each (then every module of theirs is in it)
  for (let i = 0; i < 2; i++) for (const row of rows) timeOnce(row);
  const times = rows.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < rows.length; k++) {
      const i = (k + round) % rows.length;
      times[i].push(timeOnce(rows[i]));
    }
  }
  const base = times[0];
  printTable(
    `bpfsteer CLI start, spawn to exit (${ROUNDS} interleaved rounds; node ${process.version}; goal: --help, --version and validate <= ${GOAL}x node -e 0)`,
    ['what', 'median ms', 'min ms', 'x node -e 0'],
    rows.map((row, i) => [row.name, median(times[i]), Math.min(...times[i]), median(times[i].map((t, r) => t / base[r]))]),
  );
} finally {
  runCleanup();
}
