// The agent the tproxy benches drive: plugin tc-tproxy + source ziti on a lab interface, as a child
// process — `bpfsteer run` when the CLI knows both, else bench/tproxy-agent.mjs (the same two composed
// with createAgent) — and a client of its ziti API (unix socket, one kept-alive connection).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { unixRequest } from './unix-http.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const agentBin = `${here}../apps/agent/dist/bin.js`;

/** The node options of the bin's shebang (`#!/usr/bin/env -S node <options>`): the agent runs as installed. */
function shebangOptions(file) {
  if (!existsSync(file)) return [];
  const first = readFileSync(file, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node(?: (.*))?$/.exec(first);
  return m?.[1] ? m[1].trim().split(/\s+/) : [];
}

/**
 * Writes the agent's config into `dir` (ziti socket, state file; admin socket when `admin` is
 * true; `isolation`: agent.isolation, the plugin in a thread of its own or inline; `perService`: the
 * plugin's per-service hit metrics) and picks how to run it. Returns what spawnZitiAgent needs; the same setup restarts an agent
 * on the same pins and state file.
 */
export function zitiAgentSetup({ dir, pinRoot, netns, ifname, admin = false, applyMs = 120_000, isolation = 'thread', perService = false }) {
  const socket = `${dir}/ziti.sock`;
  const spool = `${dir}/spool`;
  const adminSocket = admin ? `${dir}/agent.sock` : false;
  const config = {
    agent: { pinRoot, adminSocket, logLevel: 'warn', timeouts: { applyMs }, isolation },
    plugins: [{ id: 'tc-tproxy', netns, interfaces: [{ name: ifname }], ...(perService && { metrics: { perService: true } }) }],
    sources: [{ type: 'ziti', socket, stateFile: `${dir}/rules.json`, spool }],
  };
  const configPath = `${dir}/agent.json`;
  writeFileSync(configPath, JSON.stringify(config));
  // `bpfsteer validate` accepts the config only when the CLI has both builtins; BPFSTEER_BENCH_AGENT=script
  // picks bench/tproxy-agent.mjs all the same (e.g. for its BPFSTEER_BENCH_CPU_PROFILE)
  const builtin =
    process.env.BPFSTEER_BENCH_AGENT !== 'script' &&
    existsSync(agentBin) &&
    spawnSync(process.execPath, [agentBin, 'validate', '-c', configPath]).status === 0;
  return { configPath, socket, spool, adminSocket, pinRoot, builtin, how: builtin ? 'bpfsteer run' : 'createAgent' };
}

/**
 * Starts an agent process on `setup`. `keepPinned`: SIGTERM leaves its pinned maps and links in
 * force for the next one (`bpfsteer run --keep-pinned`). `takeOver`: it takes over from the agent
 * running on `setup` (`bpfsteer run --take-over`). `startedAt`: process.hrtime.bigint() just
 * before the spawn.
 */
export function spawnZitiAgent(setup, { keepPinned = false, takeOver = false } = {}) {
  const flags = [...(keepPinned ? ['--keep-pinned'] : []), ...(takeOver ? ['--take-over'] : [])];
  const argv = setup.builtin
    ? [...shebangOptions(agentBin), agentBin, 'run', '-c', setup.configPath, '--log-level', 'warn', ...flags]
    : [`${here}tproxy-agent.mjs`, setup.configPath, ...flags];
  const startedAt = process.hrtime.bigint();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', () => undefined);
  return { ...setup, child, startedAt, stderr: () => stderr };
}

/** zitiAgentSetup + spawnZitiAgent. */
export function startZitiAgent(options) {
  return spawnZitiAgent(zitiAgentSetup(options), { keepPinned: options.keepPinned });
}

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });

/** A ziti API call on the kept-alive connection; resolves the JSON body, rejects on HTTP >= 300. */
export async function zitiApi(socket, method, path, body) {
  const res = await unixRequest(socket, method, path, { body, agent: keepAlive, timeoutMs: 600_000 });
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.text.slice(0, 500)}`);
  return res.body;
}

/** Closes the kept-alive connection (else it keeps the bench process alive). */
export function closeZitiApi() {
  keepAlive.destroy();
}

/** Waits until the agent's ziti API answers GET /v1/health (polling every `intervalMs`). */
export async function waitZitiReady(agent, { intervalMs = 100, timeoutMs = 30_000 } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (agent.child.exitCode !== null) throw new Error(`agent exited ${agent.child.exitCode}: ${agent.stderr()}`);
    try {
      await zitiApi(agent.socket, 'GET', '/v1/health');
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`agent not ready: ${err.message}: ${agent.stderr()}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** Sends `signal` and waits for the exit (SIGKILL after `graceMs`); resolves the exit code or signal. */
export async function stopZitiAgent(agent, { signal = 'SIGTERM', graceMs = 20_000 } = {}) {
  const { child } = agent;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  const gone = new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const result = await gone;
  clearTimeout(timer);
  return result;
}

/** A tproxy.rule intent as the ziti API takes it. */
export const apiRule = (i) => ({
  destination: i.destination,
  source: i.source,
  protocol: i.protocol,
  ports: i.ports,
  action: i.action,
  ...(i.tproxyPort !== undefined && { tproxyPort: i.tproxyPort }),
});

/** The agent's rules through its ziti API: single inserts, batches of inserts, flush, list, count check. */
export function zitiRules(agent) {
  const { socket } = agent;
  return {
    name: 'agent API',
    diagnostics: () => `agent stderr (last 2000 bytes): ${agent.stderr().slice(-2000)}`,
    single: (r) => zitiApi(socket, 'POST', '/v1/rules', apiRule(r)),
    batch: (list) => zitiApi(socket, 'POST', '/v1/rules/batch', { operations: list.map((r) => ({ op: 'insert', rule: apiRule(r) })) }),
    flush: () => zitiApi(socket, 'POST', '/v1/rules/flush'),
    list: () => zitiApi(socket, 'GET', '/v1/rules'),
    async expect(n) {
      const list = await zitiApi(socket, 'GET', '/v1/rules');
      if (list.rules.length !== n) throw new Error(`expected ${n} rules in the agent, it lists ${list.rules.length}`);
    },
  };
}
