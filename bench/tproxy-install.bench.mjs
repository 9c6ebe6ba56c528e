// bench/tproxy-install: how fast rules get into the kernel through what a ziti router talks to —
// the ziti source's HTTP API on its unix socket and the diverter CLI (one process per rule, as the
// router runs it) — against the raw TproxyDataplane apply of the same rules in this process, in the
// same run. Phases (each for the dataplane and for the agent):
//   single inserts in sequence into an empty rule set; batches of 1,000 up to 20,000 rules; single
//   inserts on top of those 20,000; one batch of 100,000 (from empty); the batches of 1,000 again
//   (the process warmed up: a running agent's case, as the first run is a freshly started one's); and for the agent only the
//   diverter CLI, one process per rule (the dataplane column shows its single-insert rate).
// The agent (plugin tc-tproxy + source ziti) runs as a child process on a lab veth: `bpfsteer run`
// when the CLI knows both, else bench/tproxy-agent.mjs (the same two composed with createAgent).
// Rules: router-like random IPv4 sets (tproxy-rules.mjs); the CLI inserts 10.77.x.y/32 tcp 443.
// Needs root, `make -C bpf` and the builds of netlab, core-bpf, agent-kernel, plugin-tc-tproxy,
// source-ziti (and apps/agent).
// Usage: node bench/tproxy-install.bench.mjs [single inserts (200)] [cli invocations (100)]
//        [batched total (20000)] [one-batch total (100000)] [singles on top (20)]
// Env: BPFSTEER_BENCH_AGENT=script runs the agent as bench/tproxy-agent.mjs even when `bpfsteer run`
//      could; BPFSTEER_BENCH_CPU_PROFILE=<file> (with it) writes the agent's CPU profile there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NetLab } from '@bpfsteer/netlab';
import { bareNodeStartSeconds } from './bare-node.mjs';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { printTable } from './table.mjs';
import { startTproxyDataplane } from './tproxy-dataplane.mjs';
import { routerRuleSet } from './tproxy-rules.mjs';
import { closeZitiApi, startZitiAgent, stopZitiAgent, waitZitiReady, zitiRules } from './ziti-agent.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const SINGLE = Number(process.argv[2] ?? 200);
const CLI = Number(process.argv[3] ?? 100);
const BATCHED = Number(process.argv[4] ?? 20_000);
const ONE_BATCH = Number(process.argv[5] ?? 100_000);
const ON_TOP = Number(process.argv[6] ?? 20);
const BATCH = 1000;
const TPROXY_PORT = 15000;

const diverterBin = `${here}../packages/source-ziti/dist/diverter.js`;

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const chunks = (list, size) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/** One rule set for everything: router-like random rules (no probes). */
const { intents } = routerRuleSet({ family: 4, n: Math.max(ONE_BATCH, BATCHED + ON_TOP, SINGLE), probes: 0, tproxyPort: TPROXY_PORT, seed: 7 });

/**
 * The phases against an installer: { single(rules) one by one, batch(rules) as one request/apply,
 * flush() } starting from an empty rule set. Returns rules/s by phase.
 */
async function phases(installer) {
  const out = {};
  try {
    await runPhases(installer, out);
  } catch (err) {
    throw new Error(`${installer.name}, phase "${out.phase}": ${err.message}${installer.diagnostics ? `\n${installer.diagnostics()}` : ''}`, { cause: err });
  }
  return out;
}

async function runPhases(installer, out) {
  out.phase = 'single';
  let t0 = process.hrtime.bigint();
  for (const r of intents.slice(0, SINGLE)) await installer.single(r);
  out.single = SINGLE / seconds(t0);
  await installer.expect(SINGLE);
  await installer.flush();
  out.phase = 'batched';
  t0 = process.hrtime.bigint();
  for (const c of chunks(intents.slice(0, BATCHED), BATCH)) await installer.batch(c);
  out.batched = BATCHED / seconds(t0);
  await installer.expect(BATCHED);
  out.phase = 'on top';
  t0 = process.hrtime.bigint();
  for (const r of intents.slice(BATCHED, BATCHED + ON_TOP)) await installer.single(r);
  out.onTop = ON_TOP / seconds(t0);
  await installer.expect(BATCHED + ON_TOP);
  await installer.flush();
  out.phase = 'one batch';
  t0 = process.hrtime.bigint();
  await installer.batch(intents.slice(0, ONE_BATCH));
  out.oneBatch = ONE_BATCH / seconds(t0);
  await installer.expect(ONE_BATCH);
  await installer.flush();
  out.phase = 'batched again';
  t0 = process.hrtime.bigint();
  for (const c of chunks(intents.slice(0, BATCHED), BATCH)) await installer.batch(c);
  out.batchedAgain = BATCHED / seconds(t0);
  await installer.expect(BATCHED);
  await installer.flush();
  out.phase = 'done';
}

// ---------------------------------------------------------------- baseline: TproxyDataplane in-process
/** The dataplane fed the complete desired rule set on every change, as the plugin's apply is. */
function dataplaneInstaller(dp) {
  let rules = [];
  return {
    name: 'dataplane',
    single: (r) => dp.setRules((rules = [...rules, r])),
    batch: (list) => dp.setRules((rules = [...rules, ...list])),
    flush: () => dp.setRules((rules = [])),
    expect(n) {
      const have = dp.dataplane.describeRules().rules.length;
      if (have !== n) throw new Error(`expected ${n} rules in the dataplane, it describes ${have}`);
    },
  };
}

// ---------------------------------------------------------------- the diverter CLI against the agent (bench/ziti-agent.mjs)
/** The router's calls: one diverter process per service (10.77.x.y/32 tcp 443 -> tproxy port). */
function throughCli(socket) {
  const env = { ...process.env, BPFSTEER_ZITI_SOCKET: socket };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CLI; i++) {
    const args = ['-I', '-c', `10.77.${i >> 8}.${i & 255}`, '-m', '32', '-p', 'tcp', '-o', '0.0.0.0', '-n', '0'];
    args.push('-l', '443', '-h', '443', '-t', String(TPROXY_PORT), '-s', `svc${i}`);
    const r = spawnSync(process.execPath, [diverterBin, ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bpfsteer-diverter ${args.join(' ')}: exited ${r.status}: ${r.stderr}`);
  }
  const rate = CLI / seconds(t0);
  // what a process start alone costs, for scale
  return { rate, nodeStart: 20 / bareNodeStartSeconds(20).reduce((a, b) => a + b, 0) };
}

const lab = NetLab.create('tpi');
onCleanup(() => lab.destroySync());
const dir = mkdtempSync('/tmp/bstbench-');
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
try {
  const netns = lab.addNetns('r');
  lab.addVeth({ netns, ifname: 'tpi0', addresses: ['10.0.0.1/24'] }, { netns, ifname: 'tpi1', addresses: ['10.0.1.1/24'] });

  const dp = startTproxyDataplane({ netns, interfaces: ['tpi1'], pinRoot: `/sys/fs/bpf/${lab.id}-dp` });
  const closeDp = onCleanup(() => dp.close());
  const base = await phases(dataplaneInstaller(dp));
  closeDp();

  const agent = startZitiAgent({ dir, pinRoot: `/sys/fs/bpf/${lab.id}-agent`, netns, ifname: 'tpi0' });
  onCleanup(() => rmSync(agent.pinRoot, { recursive: true, force: true }));
  onCleanup(() => agent.child.exitCode === null && agent.child.kill('SIGTERM'));
  await waitZitiReady(agent);
  const installer = zitiRules(agent);
  const viaApi = await phases(installer);
  const cli = throughCli(agent.socket);
  await installer.expect(CLI).catch((err) => {
    throw new Error(`after the CLI phase: ${err.message}\n${installer.diagnostics()}`);
  });
  await stopZitiAgent(agent);

  const row = (what, n, b, a) => [what, String(n), b, a, a / b];
  printTable(
    `rule installs, rules/s (agent via ${agent.how}, API = the ziti source on its unix socket; baseline: TproxyDataplane apply in-process, same rules)`,
    ['path', 'rules', 'dataplane rules/s', 'agent rules/s', 'agent/dataplane'],
    [
      row('single inserts, sequential, from empty', SINGLE, base.single, viaApi.single),
      row(`batches of ${BATCH}, from empty`, BATCHED, base.batched, viaApi.batched),
      row(`single inserts on top of ${BATCHED}`, ON_TOP, base.onTop, viaApi.onTop),
      row('one batch, from empty', ONE_BATCH, base.oneBatch, viaApi.oneBatch),
      row(`batches of ${BATCH}, from empty, again (warm)`, BATCHED, base.batchedAgain, viaApi.batchedAgain),
      row('diverter CLI, process per rule, from empty', CLI, base.single, cli.rate),
      ['(node process start, no-op)', '20', '-', cli.nodeStart, '-'],
    ],
  );
} finally {
  closeZitiApi();
  runCleanup();
}
