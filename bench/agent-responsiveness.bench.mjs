// bench/agent-responsiveness: the figures of issue 9 (agent kernel v2) on the current code, each with
// its baseline from the same run. The agent = `bpfsteer run` (plugin tc-tproxy + source ziti, admin
// socket on) on a lab veth, as in bench/tproxy-install, driven through the ziti API's unix socket:
//   1. single inserts (POST /v1/rules, one kept-alive connection) on top of 0, <mid> and <big> rules:
//      p50/p99 ms; baseline: GET /v1/health round trips on the same connection at the same level. On
//      top of 0 twice: the first inserts after the agent started (its code not compiled by V8's
//      optimising tiers yet: FIRST_INSERTS of them) and again after WARMUP inserts (then a flush):
//      what a running agent answers.
//   2. the longest time without an answer (ms) of GET /v1/health on the ziti socket and of
//      GET /v1/status on the admin socket (what `bpfsteer status` asks; asked directly, a CLI process
//      per poll could not poll every 20 ms), each polled every <poll ms> with a fresh connection from a
//      separate process (bench/stall-poller.mjs), during (a) one <big>-rule batch through the API and
//      (b) a restart re-adopting the pinned rules: by default a new agent taking over from the running
//      one (`bpfsteer run --take-over`: it takes the sockets, the old one hands over and exits, then it
//      adopts the pins; restart mode "take-over"), or SIGTERM to the agent started with --keep-pinned
//      and a new agent at once on the same pins and state file ("term"), or SIGKILL instead ("kill"),
//      until its admin status says running and its ziti API answers; baseline: the same polls of
//      the idle agent holding <big> rules. The restart's window is also split where the new agent
//      first answered: the process swap (baseline `node -e 0`) and the new agent's start while it
//      answers; then the first single insert after the restart (ms).
//   3. one batch of <big> rules from empty: rules/s; baseline: TproxyDataplane apply in-process.
//   4. agent VmRSS (/proc/<pid>/status) at 0, <small> and <big> rules (each after 5 s idle; at <big>
//      also after 30 s, once V8's memory reducer had its checks: agent-kernel's memory-reducer-nudge.ts), after
//      GET /v1/rules (listing, at once) and after the restart (1 s); the BPF maps the agent holds open (memlock summed over its map fds,
//      /proc/<pid>/fdinfo) at 0 and <big>; spawn -> admin status running after the restart (from the
//      poller's reports: +- one poll interval) and cold (0 rules); cold spawn -> ziti API answering
//      (any answer: 503 while the plugin still starts) and ready (200), the cold figures the median of
//      5 agents started one after another on fresh pins before anything else runs;
//      baselines: the runtime floor (bench/runtime-floor.mjs: Node's ESM loader, a worker thread with
//      koffi and libbpf, an HTTP server on a unix socket - what any agent of this design has, none of
//      its code; 5 s idle) and an idle bare `node -e` (RSS, and of it the file pages: the node binary
//      and libraries), `node -e 0` start to exit (median of 5).
// Needs root, `make -C bpf` and the builds of netlab, core-bpf, agent-kernel, plugin-tc-tproxy,
// source-ziti and apps/agent. Everything lives in a NetLab netns, a temp dir and /sys/fs/bpf/<lab id>-*,
// removed at the end, also on failure or interrupt (bench/cleanup.mjs).
// Usage: node bench/agent-responsiveness.bench.mjs [big (100000)] [mid (20000)] [small (10000)]
//        [single inserts per level (200)] [poll ms (20)] [restart: take-over|term|kill (take-over)]
// Quick check: node bench/agent-responsiveness.bench.mjs 2000 400 200 10
import { mkdtempSync, rmSync } from 'node:fs';
import { NetLab } from '@bpfsteer/netlab';
import { bareNodeRssKiB, bareNodeStartSeconds, runtimeFloorKiB } from './bare-node.mjs';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { intArgs } from './int-args.mjs';
import { longestGap, pollClock, pollStalls } from './poll-stalls.mjs';
import { mapMemlock, residentKiB } from './proc-memory.mjs';
import { median, percentile } from './stats.mjs';
import { printTable } from './table.mjs';
import { startTproxyDataplane } from './tproxy-dataplane.mjs';
import { routerRuleSet } from './tproxy-rules.mjs';
import { closeZitiApi, spawnZitiAgent, stopZitiAgent, waitZitiReady, zitiAgentSetup, zitiApi, zitiRules } from './ziti-agent.mjs';
import { unixRequest } from './unix-http.mjs';

const USAGE = 'usage: node bench/agent-responsiveness.bench.mjs [big] [mid] [small] [inserts per level] [poll ms] [take-over|term|kill]';
const intArg = intArgs(USAGE);
const BIG = intArg(2, 100_000, 'big', 1);
const MID = intArg(3, 20_000, 'mid', 1);
const SMALL = intArg(4, 10_000, 'small', 1);
const INSERTS = intArg(5, 200, 'inserts per level', 1);
const POLL_MS = intArg(6, 20, 'poll ms', 1);
const RESTART = process.argv[7] ?? 'take-over';
if (!(SMALL <= MID && MID <= BIG) || !['take-over', 'term', 'kill'].includes(RESTART)) {
  console.error(`need small <= mid <= big and restart take-over, term or kill, got ${SMALL} / ${MID} / ${BIG}, "${RESTART}"\n${USAGE}`);
  process.exit(2);
}
const TPROXY_PORT = 15000;
const IDLE_MS = 3000; // the idle agent's polls (baseline of the stalls)
const TAIL_MS = 300; // polls kept after an operation ended
const COLD_STARTS = 5; // cold starts measured (their median)
const WARMUP = 1000; // single inserts (then a flush) before the warm inserts on top of 0
const FIRST_INSERTS = 50; // the first single inserts after the start (on top of 0)
const LIMIT_MS = 30 * 60_000; // the whole bench
const SETTLED_MS = 30_000; // idle after the big batch before the steady-state RSS (V8's memory reducer checks every 8 s; its GCs come 10-25 s after a batch)

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const sleep = (n) => new Promise((r) => setTimeout(r, n));
const mib = (kib) => kib / 1024;

/**
 * The rules: [0, BIG) the levels' base, then INSERTS single inserts for each of the three levels,
 * then one after the restart, then the FIRST_INSERTS after the start, then the WARMUP inserts.
 */
const { intents } = routerRuleSet({ family: 4, n: BIG + 3 * INSERTS + 1 + FIRST_INSERTS + WARMUP, probes: 0, tproxyPort: TPROXY_PORT, seed: 9 });
const base = intents.slice(0, BIG);
const singlesFor = (k) => intents.slice(BIG + k * INSERTS, BIG + (k + 1) * INSERTS);
const firstInserts = intents.slice(BIG + 3 * INSERTS + 1, BIG + 3 * INSERTS + 1 + FIRST_INSERTS);
const warmups = intents.slice(BIG + 3 * INSERTS + 1 + FIRST_INSERTS);

/** The agent's admin status state (and pid), or undefined while it does not answer. */
async function adminStatus(agent) {
  try {
    const res = await unixRequest(agent.adminSocket, 'GET', '/v1/status', { timeoutMs: 10_000 });
    return res.body?.agent;
  } catch {
    return undefined;
  }
}

/** Polls the ziti API's health every 5 ms until it answers at all (503 while starting counts); ms since the spawn. */
async function firstAnswer(agent, timeoutMs = 120_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (agent.child.exitCode !== null) throw new Error(`agent exited ${agent.child.exitCode}: ${agent.stderr()}`);
    const answered = await unixRequest(agent.socket, 'GET', '/v1/health', { timeoutMs: 10_000 }).then(
      () => true,
      () => false,
    );
    if (answered) return ms(agent.startedAt);
    await sleep(5);
  }
  throw new Error(`the ziti API did not answer within ${timeoutMs} ms: ${agent.stderr().slice(-2000)}`);
}

/** Polls the admin status every 10 ms until the agent says running; ms since its spawn. */
async function untilRunning(agent, timeoutMs = 120_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (agent.child.exitCode !== null) throw new Error(`agent exited ${agent.child.exitCode}: ${agent.stderr()}`);
    if ((await adminStatus(agent))?.state === 'running') return ms(agent.startedAt);
    await sleep(10);
  }
  throw new Error(`the agent's admin status did not say running within ${timeoutMs} ms: ${agent.stderr().slice(-2000)}`);
}

/** INSERTS single inserts at the current level, each followed by a health round trip; ms each. */
async function insertLatencies(agent, rules) {
  const api = zitiRules(agent);
  const insert = [];
  const health = [];
  for (const r of rules) {
    let t0 = process.hrtime.bigint();
    await api.single(r);
    insert.push(ms(t0));
    t0 = process.hrtime.bigint();
    await zitiApi(agent.socket, 'GET', '/v1/health');
    health.push(ms(t0));
  }
  return { insert, health };
}

/**
 * The memory figures of the agent process after `settleMs` idle: 5 s by default, past the 2 s after
 * which a plugin thread gives back the garbage of large work (IdleTrim in agent-kernel's
 * plugin-worker.ts), so the figure is the agent's steady state rather than a large apply's leftovers.
 */
async function memory(agent, settleMs = 5000) {
  await sleep(settleMs);
  return { resident: residentKiB(agent.child.pid), maps: mapMemlock(agent.child.pid) };
}

const pollTargets = (agent) => [
  { name: 'ziti', socket: agent.socket, path: '/v1/health' },
  { name: 'admin', socket: agent.adminSocket, path: '/v1/status' },
];
const gaps = (poller, from, to) => ({ ziti: longestGap(poller.answers('ziti'), from, to), admin: longestGap(poller.answers('admin'), from, to) });

const lab = NetLab.create('agr');
onCleanup(() => lab.destroySync());
const dir = mkdtempSync('/tmp/bstbench-');
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const watchdog = setTimeout(() => {
  console.error(`agent-responsiveness: over the time limit of ${LIMIT_MS / 60_000} min; cleaning up`);
  runCleanup();
  process.exit(1);
}, LIMIT_MS);
watchdog.unref();
let agent;
try {
  const netns = lab.addNetns('r');
  lab.addVeth({ netns, ifname: 'agr0', addresses: ['10.0.0.1/24'] }, { netns, ifname: 'agr1', addresses: ['10.0.1.1/24'] });

  // baselines that need no agent
  const nodeStartMs = median(bareNodeStartSeconds(5)) * 1000;
  const bareNode = await bareNodeRssKiB();
  const floor = await runtimeFloorKiB();

  // cold starts, 0 rules: COLD_STARTS agents one after another, each on fresh pins and a fresh state
  // file, before anything else loads the machine (one sample read anywhere from 0.48 to 0.79 s)
  const cold = { answer: [], api: [], running: [] };
  for (let i = 0; i < COLD_STARTS; i++) {
    const coldDir = mkdtempSync(`${dir}/cold-`);
    const coldSetup = zitiAgentSetup({ dir: coldDir, pinRoot: `/sys/fs/bpf/${lab.id}-cold${i}`, netns, ifname: 'agr0', admin: true });
    const removePins = onCleanup(() => rmSync(coldSetup.pinRoot, { recursive: true, force: true }));
    const coldAgent = spawnZitiAgent(coldSetup);
    const stopCold = onCleanup(() => coldAgent.child.exitCode === null && coldAgent.child.signalCode === null && coldAgent.child.kill('SIGKILL'));
    cold.answer.push(await firstAnswer(coldAgent));
    await waitZitiReady(coldAgent, { intervalMs: 10, timeoutMs: 120_000 });
    cold.api.push(ms(coldAgent.startedAt));
    cold.running.push(await untilRunning(coldAgent));
    const exit = await stopZitiAgent(coldAgent);
    if (exit !== 0) throw new Error(`a cold-start agent exited ${exit} on SIGTERM: ${coldAgent.stderr().slice(-2000)}`);
    stopCold();
    removePins();
  }
  const coldAnswerMs = median(cold.answer);
  const coldApiMs = median(cold.api);
  const coldRunningMs = median(cold.running);
  const dp = startTproxyDataplane({ netns, interfaces: ['agr1'], pinRoot: `/sys/fs/bpf/${lab.id}-dp` });
  const closeDp = onCleanup(() => dp.close());
  let t0 = process.hrtime.bigint();
  dp.setRules(base);
  const dataplaneRate = BIG / (ms(t0) / 1000);
  closeDp();

  // cold start, 0 rules
  const setup = zitiAgentSetup({ dir, pinRoot: `/sys/fs/bpf/${lab.id}-agent`, netns, ifname: 'agr0', admin: true });
  onCleanup(() => rmSync(setup.pinRoot, { recursive: true, force: true }));
  onCleanup(() => agent && agent.child.exitCode === null && agent.child.signalCode === null && agent.child.kill('SIGKILL'));
  agent = spawnZitiAgent(setup, { keepPinned: RESTART === 'term' });
  await waitZitiReady(agent, { intervalMs: 10, timeoutMs: 120_000 });
  await untilRunning(agent);
  const api = zitiRules(agent);
  const at0 = await memory(agent);

  // single inserts on top of 0, then of MID (passing SMALL for the memory)
  const latFirst = await insertLatencies(agent, firstInserts);
  await api.flush();
  for (const r of warmups) await api.single(r);
  await api.flush();
  const lat0 = await insertLatencies(agent, singlesFor(0));
  await api.flush();
  await api.batch(base.slice(0, SMALL));
  const atSmall = await memory(agent);
  if (MID > SMALL) await api.batch(base.slice(SMALL, MID));
  const latMid = await insertLatencies(agent, singlesFor(1));
  await api.flush();

  // one batch of BIG from empty, polled
  let poller = await pollStalls(pollTargets(agent), { intervalMs: POLL_MS });
  await sleep(TAIL_MS);
  let from = pollClock();
  t0 = process.hrtime.bigint();
  await api.batch(base);
  const batchRate = BIG / (ms(t0) / 1000);
  let to = pollClock();
  await sleep(TAIL_MS);
  await poller.stop();
  const batchGaps = gaps(poller, from, to);
  const atBig = await memory(agent);
  const atBigSettled = await memory(agent, SETTLED_MS - 5000);
  const latBig = await insertLatencies(agent, singlesFor(2));
  poller = await pollStalls(pollTargets(agent), { intervalMs: POLL_MS });
  await sleep(TAIL_MS);
  from = pollClock();
  t0 = process.hrtime.bigint();
  const listed = (await api.list()).rules.length;
  const listMs = ms(t0);
  to = pollClock();
  await sleep(TAIL_MS);
  await poller.stop();
  const listGaps = gaps(poller, from, to);
  if (listed !== BIG + INSERTS) throw new Error(`expected ${BIG + INSERTS} rules in the agent, it lists ${listed}`);
  const afterList = { resident: residentKiB(agent.child.pid) };

  // the idle agent holding BIG rules, then the restart, polled
  poller = await pollStalls(pollTargets(agent), { intervalMs: POLL_MS });
  await sleep(TAIL_MS);
  from = pollClock();
  await sleep(IDLE_MS);
  const idleGaps = gaps(poller, from, pollClock());
  from = pollClock();
  const old = agent;
  const oldExit = new Promise((resolve) => old.child.once('exit', (code, sig) => resolve(code ?? sig)));
  if (RESTART !== 'take-over') {
    const stopped = await stopZitiAgent(old, { signal: RESTART === 'term' ? 'SIGTERM' : 'SIGKILL', graceMs: 120_000 });
    if (RESTART === 'term' && stopped !== 0) throw new Error(`the agent exited ${stopped} on SIGTERM: ${old.stderr().slice(-2000)}`);
  }
  const spawnedAt = pollClock();
  // without --keep-pinned: its SIGTERM at the end removes the pins
  agent = spawnZitiAgent(setup, { takeOver: RESTART === 'take-over' });
  const { pid } = agent.child;
  if (RESTART === 'take-over') {
    const exited = await Promise.race([oldExit, sleep(120_000).then(() => 'still running')]);
    if (exited !== 0) throw new Error(`the agent taken over from: ${exited}: ${old.stderr().slice(-2000)}; the new one: ${agent.stderr().slice(-2000)}`);
  }
  const running = await poller.until((m) => m.target === 'admin' && m.pid === pid && m.state === 'running', 300_000, `running status from pid ${pid}`);
  const zitiBack = poller.answers('ziti').some((t) => t > spawnedAt)
    ? undefined
    : await poller.until((m) => m.target === 'ziti' && m.status !== undefined, 300_000, 'ziti answer from the new agent');
  to = Math.max(running.t, zitiBack?.t ?? 0);
  await sleep(TAIL_MS);
  await poller.stop();
  const restartGaps = gaps(poller, from, to);
  // the same window split where the new agent first answered: the swap of the processes (the old
  // one stops, the new one starts: a process start cannot be hidden without handing the listening
  // sockets over) and the new agent's own start (adoption, state file) while it answers
  const firstNew = (target) => poller.answers(target).find((t) => t > spawnedAt) ?? to;
  const split = (target) => ({
    swap: longestGap(poller.answers(target), from, firstNew(target)),
    after: longestGap(poller.answers(target), firstNew(target), to),
  });
  const restartSplit = { ziti: split('ziti'), admin: split('admin') };
  const restartRunningMs = running.t - spawnedAt;
  const afterRestart = await memory(agent, 1000); // 1 s as before: the first insert below is measured after it
  // the first change after the restart (the plugin may still have to read its maps back)
  t0 = process.hrtime.bigint();
  await zitiRules(agent).single(intents[BIG + 3 * INSERTS]);
  const firstInsertMs = ms(t0);
  await zitiRules(agent).expect(BIG + INSERTS + 1).catch((err) => {
    throw new Error(`after the restart: ${err.message}: ${agent.stderr().slice(-2000)}`);
  });
  const exit = await stopZitiAgent(agent);
  if (exit !== 0) console.error(`note: the agent exited ${exit} on SIGTERM: ${agent.stderr().slice(-2000)}`);

  const restartHow = {
    'take-over': 'a new agent taking over (bpfsteer run --take-over) from the running one',
    term: 'SIGTERM to the agent run with --keep-pinned, a new agent at once on the same pins and state file',
    kill: 'SIGKILL to the agent, a new agent at once on the same pins and state file',
  }[RESTART];
  const latencyRows = (level, lat, when = '') => [
    [`single insert on top of ${level} rules${when}, p50`, 'ms', median(lat.insert), median(lat.health), 'health RTT', '<= 1, flat'],
    [`single insert on top of ${level} rules${when}, p99`, 'ms', percentile(lat.insert, 99), percentile(lat.health, 99), 'health RTT', ''],
  ];
  const rss = (what, at, goal = '') => [`agent RSS, ${what}`, 'MiB', mib(at.resident.rss), mib(floor.rss), 'runtime floor', goal];
  printTable(
    `agent responsiveness, issue 9's figures (agent via ${setup.how}; ${INSERTS} single inserts per level; health RTT = ` +
      `GET /v1/health on the same connection at the same level; stalls: the longest time without an answer, polls every ` +
      `${POLL_MS} ms from a separate process, status = the admin socket's GET /v1/status asked directly, idle = the agent ` +
      `holding ${BIG} rules for ${IDLE_MS / 1000} s; restart = ${restartHow})`,
    ['figure', 'unit', 'measured', 'baseline', 'baseline is', 'goal'],
    [
      ...latencyRows(0, latFirst, `, the first ${FIRST_INSERTS} after the start`),
      ...latencyRows(0, lat0, `, after ${WARMUP} others`),
      ...latencyRows(MID, latMid),
      ...latencyRows(BIG, latBig),
      [`longest stall, ziti /v1/health, one ${BIG}-rule batch`, 'ms', batchGaps.ziti, idleGaps.ziti, 'idle', '< 50'],
      [`longest stall, admin /v1/status, one ${BIG}-rule batch`, 'ms', batchGaps.admin, idleGaps.admin, 'idle', '< 50'],
      [`longest stall, ziti /v1/health, restart with ${BIG + INSERTS} rules`, 'ms', restartGaps.ziti, idleGaps.ziti, 'idle', '< 50'],
      [`longest stall, admin /v1/status, restart with ${BIG + INSERTS} rules`, 'ms', restartGaps.admin, idleGaps.admin, 'idle', '< 50'],
      [`  of which the process swap (old stops, new starts), ziti`, 'ms', restartSplit.ziti.swap, nodeStartMs, 'node -e 0', ''],
      [`  of which the new agent's start once it answered, ziti`, 'ms', restartSplit.ziti.after, idleGaps.ziti, 'idle', '< 50'],
      [`  of which the process swap (old stops, new starts), admin`, 'ms', restartSplit.admin.swap, nodeStartMs, 'node -e 0', ''],
      [`  of which the new agent's start once it answered, admin`, 'ms', restartSplit.admin.after, idleGaps.admin, 'idle', '< 50'],
      [`first single insert after the restart`, 'ms', firstInsertMs, median(latBig.health), 'health RTT', ''],
      [`one batch of ${BIG} rules through the API, from empty`, 'rules/s', batchRate, dataplaneRate, 'dataplane in-process', '>= 100000'],
      // issue 9's goals name 0, 10,000 and 100,000 rules
      rss('0 rules', at0, '<= 80'),
      [`  of which file pages (node binary, libraries), 0 rules`, 'MiB', mib(at0.resident.file), mib(floor.file), 'runtime floor', ''],
      rss(`${SMALL} rules`, atSmall, SMALL === 10_000 ? '<= 100' : ''),
      rss(`${BIG} rules`, atBig, BIG === 100_000 ? '<= 200' : ''),
      rss(`${BIG} rules, after ${SETTLED_MS / 1000} s idle (V8's memory reducer checks every 8 s)`, atBigSettled, BIG === 100_000 ? '<= 200' : ''),
      rss(`${BIG + INSERTS} rules, after GET /v1/rules`, afterList),
      rss(`${BIG + INSERTS} rules, after the restart`, afterRestart),
      [`runtime floor RSS (no agent code), of it file pages`, 'MiB', mib(floor.rss), mib(floor.file), 'its file pages', ''],
      [`bare node -e RSS, of it file pages`, 'MiB', mib(bareNode.rss), mib(bareNode.file), 'its file pages', ''],
      [`BPF map memlock (${atBig.maps.maps} maps held open), ${BIG} rules`, 'MiB', atBig.maps.bytes / 2 ** 20, at0.maps.bytes / 2 ** 20, 'at 0 rules', ''],
      [`GET /v1/rules, ${BIG + INSERTS} rules`, 'ms', listMs, median(latBig.health), 'health RTT', ''],
      [`longest stall, ziti /v1/health, during that GET /v1/rules`, 'ms', listGaps.ziti, idleGaps.ziti, 'idle', '< 50'],
      [`longest stall, admin /v1/status, during that GET /v1/rules`, 'ms', listGaps.admin, idleGaps.admin, 'idle', '< 50'],
      [`spawn -> admin status running, ${BIG + INSERTS} pinned rules`, 'ms', restartRunningMs, coldRunningMs, `cold, 0 rules (median of ${COLD_STARTS})`, ''],
      [`cold spawn -> ziti API answering (503 while starting), 0 rules, median of ${COLD_STARTS}`, 'ms', coldAnswerMs, nodeStartMs, 'node -e 0', '<= 500'],
      [`cold spawn -> ziti API ready (200), 0 rules, median of ${COLD_STARTS}`, 'ms', coldApiMs, nodeStartMs, 'node -e 0', ''],
    ],
  );
} catch (err) {
  if (agent) console.error(`agent stderr (last 2000 bytes): ${agent.stderr().slice(-2000)}`);
  throw err;
} finally {
  clearTimeout(watchdog);
  closeZitiApi();
  runCleanup();
}
