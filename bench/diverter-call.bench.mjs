// bench/diverter-call: what one call of the program an OpenZiti router runs costs (issue 10). The
// router runs its diverter once per service address, one call after another, judging the exit
// status (openziti/ziti tunnel/intercept/tproxy/tproxy_linux.go: exec.Command(...).CombinedOutput()),
// so a router start with S services costs S calls in a row. Measured with bench/c/exec_time.c, which
// runs each call the same way (child with stdout+stderr on one pipe, read to the end, waited for):
//   1. the native client (packages/source-ziti/dist/native/linux-<arch>/bpfsteer-diverter) with the
//      router's exact -I vector, a new service address per call, against the agent (`bpfsteer run`:
//      plugin tc-tproxy + source ziti on a lab veth) holding 0 and <big> rules: p50/p99 ms; the rule
//      is in the kernel when the call exits (the API answers after the plugin applied it);
//      baselines: the same argument vectors given to /bin/true (the floor: a process start), and
//      the API's single insert from a client in process (one kept-alive connection);
//   2. a router start: <services> services, one -I each, in a row: total seconds (goal <= 5 s);
//      baseline: /bin/true the same number of times;
//   3. -V (the router's start check) with the agent answering; the Node CLI of this package
//      (dist/diverter.js: a Node start per call) for <node calls> inserts, as before issue 10;
//   4. the same -I calls (0 and <big> rules) and router start with `agent.isolation: inline` (the plugin on the agent's
//      main thread: no thread hop per call; a large apply then holds the API, see issue 9);
//   5. where the time above the floor goes: the same -I calls against a server that answers at once
//      with the exit frame, doing nothing else: in C (bench/c/frames_server.c: the transport's
//      floor: connect, request, answer) and with node:net (bench/frames-server.mjs: Node's own
//      handling of a connection, before any of the agent's work); and a router start against each
//      (what <services> calls cost with a Node process answering, whatever it does).
// Needs root, `make -C bpf` and the builds (the native client is built by source-ziti's build).
// Everything lives in a NetLab netns, a temp dir and /sys/fs/bpf/<lab id>-*, removed at the end,
// also on failure or interrupt (bench/cleanup.mjs).
// Usage: node bench/diverter-call.bench.mjs [calls per level (300)] [big (100000)] [services (2000)] [node calls (20)]
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { arch } from 'node:os';
import { fileURLToPath } from 'node:url';
import { NetLab } from '@bpfsteer/netlab';
import { buildC } from './build-c.mjs';
import { intArgs } from './int-args.mjs';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { median, percentile } from './stats.mjs';
import { printTable } from './table.mjs';
import { routerRuleSet } from './tproxy-rules.mjs';
import { closeZitiApi, spawnZitiAgent, stopZitiAgent, waitZitiReady, zitiAgentSetup, zitiRules } from './ziti-agent.mjs';

const USAGE = 'usage: node bench/diverter-call.bench.mjs [calls per level] [big] [services] [node calls]';
const intArg = intArgs(USAGE);
const CALLS = intArg(2, 300, 'calls per level', 10);
const BIG = intArg(3, 100_000, 'big', 1);
const SERVICES = intArg(4, 2000, 'services', 1);
const NODE_CALLS = intArg(5, 20, 'node calls', 1);

const root = fileURLToPath(new URL('..', import.meta.url));
const nativeArch = { x64: 'x64', arm64: 'arm64' }[arch()];
const native = `${root}packages/source-ziti/dist/native/linux-${nativeArch}/bpfsteer-diverter`;
const nodeCli = `${root}packages/source-ziti/dist/diverter.js`;
if (!existsSync(native)) {
  console.error(`no native client at ${native}: build packages/source-ziti first (npm run build -w @bpfsteer/source-ziti)`);
  process.exit(2);
}
const execTime = buildC('exec_time');
const framesServerC = buildC('frames_server');

/** The router's -I vector for service `i`: a /32 of 10.128.0.0/9 (never a bench rule's), TCP 443. */
let nextAddress = 0;
function routerInsert() {
  const i = nextAddress++;
  const ip = `10.${128 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}`;
  return ['-I', '-c', ip, '-m', '32', '-p', 'tcp', '-o', '0.0.0.0', '-n', '0', '-l', '443', '-h', '443', '-t', '15000', '-s', `svc-${i}`];
}

/** Runs `calls` (argv arrays, program first) in a row through exec_time: ms per call; throws on a non-zero exit. */
function timeCalls(calls, env) {
  const input = `${calls.map((argv) => argv.join('\t')).join('\n')}\n`;
  const out = execFileSync(execTime, { input, env, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['pipe', 'pipe', 'inherit'] });
  return out
    .trim()
    .split('\n')
    .map((line, i) => {
      const [code, ns] = line.split(' ').map(Number);
      if (code !== 0) throw new Error(`call ${i} (${calls[i].join(' ')}) exited ${code}`);
      return ns / 1e6;
    });
}

/** `n` native inserts and `n` /bin/true calls with the same vectors, interleaved in rounds of 50. */
function nativeAgainstFloor(n, env) {
  const nativeMs = [];
  const floorMs = [];
  for (let done = 0; done < n; done += 50) {
    const vectors = Array.from({ length: Math.min(50, n - done) }, routerInsert);
    floorMs.push(...timeCalls(vectors.map((v) => ['/bin/true', ...v]), env));
    nativeMs.push(...timeCalls(vectors.map((v) => [native, ...v]), env));
  }
  return { nativeMs, floorMs };
}

/** Starts a frames server (`argv`: its command) on `socket`; resolves the child once it says "ready". */
async function startFramesServer(argv, socket) {
  const child = spawn(argv[0], [...argv.slice(1), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanup(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code} before it listened`)));
  });
  return child;
}

/**
 * `n` native -I calls against a frames server (nothing but the answer) against /bin/true, and a
 * router start of `services` calls in a row against it: { nativeMs, floorMs, startS }.
 */
async function againstFramesServer(argv, n, services, env) {
  const socket = `${dir}/frames-${framesServers++}.sock`;
  const child = await startFramesServer(argv, socket);
  try {
    const serverEnv = { ...env, BPFSTEER_ZITI_SOCKET: socket };
    timeCalls(Array.from({ length: 100 }, () => [native, ...routerInsert()]), serverEnv); // warm (JIT of the Node server)
    const calls = nativeAgainstFloor(n, serverEnv);
    const startS = timeCalls(Array.from({ length: services }, () => [native, ...routerInsert()]), serverEnv).reduce((a, b) => a + b, 0) / 1000;
    return { ...calls, startS };
  } finally {
    child.kill('SIGKILL');
  }
}
let framesServers = 0;

async function apiInserts(agent, n) {
  const api = zitiRules(agent);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const v = routerInsert();
    const t0 = performance.now();
    await api.single({ destination: `${v[2]}/32`, protocol: 'tcp', ports: { low: 443, high: 443 }, action: 'divert', tproxyPort: 15000 });
    ms.push(performance.now() - t0);
  }
  return ms;
}

const lab = NetLab.create('dvc');
onCleanup(() => lab.destroySync());
const dir = mkdtempSync('/tmp/bpfsteer-dvc-');
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
let agent;
const watchdog = setTimeout(() => {
  console.error('diverter-call bench: no result within 20 minutes; giving up');
  runCleanup();
  process.exit(1);
}, 20 * 60_000);
try {
  const netns = lab.addNetns('r');
  lab.addVeth({ netns, ifname: 'dvc0', addresses: ['10.0.0.1/24'] }, { netns, ifname: 'dvc1', addresses: ['10.0.1.1/24'] });
  const setup = zitiAgentSetup({ dir, pinRoot: `/sys/fs/bpf/${lab.id}-agent`, netns, ifname: 'dvc0' });
  onCleanup(() => rmSync(setup.pinRoot, { recursive: true, force: true }));
  onCleanup(() => agent && agent.child.exitCode === null && agent.child.signalCode === null && agent.child.kill('SIGKILL'));
  const env = { ...process.env, BPFSTEER_ZITI_SOCKET: setup.socket, BPFSTEER_ZITI_SPOOL: setup.spool, BPFSTEER_DIVERTER_CONF: '/dev/null' };
  agent = spawnZitiAgent(setup);
  await waitZitiReady(agent, { intervalMs: 10, timeoutMs: 120_000 });
  const api = zitiRules(agent);

  // warm the agent's insert path (V8 compiles it on use; a router's first calls pay that once): with 200
  // calls, the level measured next was 0.3 ms slower than the one after the router start
  timeCalls(Array.from({ length: 1000 }, () => [native, ...routerInsert()]), env);
  await api.flush();

  const at0 = nativeAgainstFloor(CALLS, env);
  const api0 = await apiInserts(agent, CALLS);
  const version = timeCalls(Array.from({ length: 50 }, () => [native, '-V']), env);
  const nodeMs = timeCalls(Array.from({ length: NODE_CALLS }, () => [nodeCli, ...routerInsert(), '--socket', setup.socket]), env);

  // a router start: SERVICES services in a row on an agent holding no rules
  await api.flush();
  const startVectors = Array.from({ length: SERVICES }, routerInsert);
  const floorStart = timeCalls(startVectors.map((v) => ['/bin/true', ...v]), env).reduce((a, b) => a + b, 0);
  const routerStart = timeCalls(startVectors.map((v) => [native, ...v]), env).reduce((a, b) => a + b, 0);
  await api.expect(SERVICES);

  await api.flush();
  await api.batch(routerRuleSet({ family: 4, n: BIG, probes: 0, tproxyPort: 15000, seed: 9 }).intents);
  const atBig = nativeAgainstFloor(CALLS, env);
  const apiBig = await apiInserts(agent, CALLS);
  await api.expect(BIG + 2 * CALLS);

  const exit = await stopZitiAgent(agent);

  // the same with the plugin inline (its own pins and state)
  mkdirSync(`${dir}/inline`);
  const inlineSetup = zitiAgentSetup({ dir: `${dir}/inline`, pinRoot: `/sys/fs/bpf/${lab.id}-inline`, netns, ifname: 'dvc0', isolation: 'inline' });
  onCleanup(() => rmSync(inlineSetup.pinRoot, { recursive: true, force: true }));
  const inlineEnv = { ...env, BPFSTEER_ZITI_SOCKET: inlineSetup.socket, BPFSTEER_ZITI_SPOOL: inlineSetup.spool };
  agent = spawnZitiAgent(inlineSetup);
  await waitZitiReady(agent, { intervalMs: 10, timeoutMs: 120_000 });
  timeCalls(Array.from({ length: 1000 }, () => [native, ...routerInsert()]), inlineEnv);
  await zitiRules(agent).flush();
  const inline0 = nativeAgainstFloor(CALLS, inlineEnv);
  await zitiRules(agent).flush();
  const inlineVectors = Array.from({ length: SERVICES }, routerInsert);
  const inlineFloorStart = timeCalls(inlineVectors.map((v) => ['/bin/true', ...v]), inlineEnv).reduce((a, b) => a + b, 0);
  const inlineStart = timeCalls(inlineVectors.map((v) => [native, ...v]), inlineEnv).reduce((a, b) => a + b, 0);
  await zitiRules(agent).flush();
  await zitiRules(agent).batch(routerRuleSet({ family: 4, n: BIG, probes: 0, tproxyPort: 15000, seed: 9 }).intents);
  const inlineBig = nativeAgainstFloor(CALLS, inlineEnv);
  await stopZitiAgent(agent);

  // where the time above the floor goes: the transport alone (C), then Node's handling of a connection
  const transportC = await againstFramesServer([framesServerC], CALLS, SERVICES, env);
  const transportNode = await againstFramesServer([process.execPath, `${root}bench/frames-server.mjs`], CALLS, SERVICES, env);
  if (exit !== 0) console.error(`note: the agent exited ${exit} on SIGTERM: ${agent.stderr().slice(-2000)}`);

  const rows = (level, { nativeMs, floorMs }, apiMs) => [
    [`native client -I, on top of ${level} rules, p50`, 'ms', median(nativeMs), median(floorMs), '/bin/true', '<= floor + 1'],
    [`  above the floor, p50`, 'ms', median(nativeMs) - median(floorMs), median(apiMs), 'API insert in process', '<= 1'],
    [`native client -I, on top of ${level} rules, p99`, 'ms', percentile(nativeMs, 99), percentile(floorMs, 99), '/bin/true', ''],
  ];
  printTable(
    `diverter calls as an OpenZiti router makes them (${CALLS} per level, exec + pipe + wait, bench/c/exec_time.c; agent via ${setup.how}; ` +
      `the floor: /bin/true with the same arguments, interleaved in rounds of 50)`,
    ['figure', 'unit', 'measured', 'baseline', 'baseline is', 'goal'],
    [
      ...rows(0, at0, api0),
      ...rows(BIG, atBig, apiBig),
      [`router start: ${SERVICES} services, one -I each in a row`, 's', routerStart / 1000, floorStart / 1000, '/bin/true x the same', '<= 5'],
      [`agent.isolation inline: native -I on top of 0 rules, above the floor, p50`, 'ms', median(inline0.nativeMs) - median(inline0.floorMs), median(inline0.floorMs), '/bin/true', '<= 1'],
      [`agent.isolation inline: native -I on top of ${BIG} rules, above the floor, p50`, 'ms', median(inlineBig.nativeMs) - median(inlineBig.floorMs), median(inlineBig.floorMs), '/bin/true', '<= 1'],
      [`agent.isolation inline: router start, ${SERVICES} services`, 's', inlineStart / 1000, inlineFloorStart / 1000, '/bin/true x the same', '<= 5'],
      [`native client -V, agent answering, p50`, 'ms', median(version), median(at0.floorMs), '/bin/true', ''],
      [`native -I answered at once by a C server, above the floor, p50`, 'ms', median(transportC.nativeMs) - median(transportC.floorMs), median(transportC.floorMs), '/bin/true', ''],
      [`native -I answered at once by a node:net server, above the floor, p50`, 'ms', median(transportNode.nativeMs) - median(transportNode.floorMs), median(transportNode.floorMs), '/bin/true', ''],
      [`router start, ${SERVICES} services, answered at once by a C server`, 's', transportC.startS, floorStart / 1000, '/bin/true x the same', ''],
      [`router start, ${SERVICES} services, answered at once by a node:net server`, 's', transportNode.startS, floorStart / 1000, '/bin/true x the same', ''],
      [`Node CLI (dist/diverter.js) -I, on top of ~0 rules, p50 of ${NODE_CALLS}`, 'ms', median(nodeMs), median(at0.floorMs), '/bin/true', ''],
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
