// bench/metrics-scrape: what a Prometheus scrape of the agent costs (issue 14's metrics), with the
// agent (`bpfsteer run`: plugin tc-tproxy + source ziti on a lab veth, admin socket on) holding 0 and
// 100,000 router-like rules (one batch through the ziti API; services svc-0..svc-1999, as a router's
// many services), once with the plugin's default metrics and once with `metrics.perService` (every
// rule's hit counter read and summed by service at each scrape). Measured: GET /metrics on the admin
// socket, a fresh connection per request, one request at a time (median and p99 ms, the exposition's
// size and series). Baseline in the same rounds: GET /v1/status on the same socket (the agent's report,
// also asked of the plugin's thread), requests interleaved.
// Usage: node bench/metrics-scrape.bench.mjs [rules (100000)] [scrapes (40)]
import { mkdtempSync, rmSync } from 'node:fs';
import { NetLab } from '@bpfsteer/netlab';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { intArgs } from './int-args.mjs';
import { median, percentile } from './stats.mjs';
import { printTable } from './table.mjs';
import { routerRuleSet } from './tproxy-rules.mjs';
import { apiRule, closeZitiApi, startZitiAgent, stopZitiAgent, waitZitiReady, zitiApi } from './ziti-agent.mjs';
import { unixRequest } from './unix-http.mjs';

const USAGE = 'usage: node bench/metrics-scrape.bench.mjs [rules] [scrapes]';
const [RULES, SCRAPES] = [intArgs(USAGE)(2, 100_000, 'rules', 1), intArgs(USAGE)(3, 40, 'scrapes', 2)];
const SERVICES = 2000;
const TPROXY_PORT = 15000;

const { intents } = routerRuleSet({ family: 4, n: RULES, probes: 0, tproxyPort: TPROXY_PORT, seed: 11 });

/** Milliseconds of one request on the admin socket (fresh connection); checks the status. */
async function timed(socket, path) {
  const t0 = process.hrtime.bigint();
  const res = await unixRequest(socket, 'GET', path, { timeoutMs: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  return { ms, text: res.text };
}

/** Scrapes and status requests in turns; the numbers of one agent at its current rule count. */
async function measure(socket) {
  const scrape = [];
  const status = [];
  let exposition = '';
  for (let i = 0; i < SCRAPES; i++) {
    const s = await timed(socket, '/metrics');
    scrape.push(s.ms);
    exposition = s.text;
    status.push((await timed(socket, '/v1/status')).ms);
  }
  const series = exposition.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  return { scrape, status, bytes: Buffer.byteLength(exposition), series };
}

const lab = NetLab.create('msc');
onCleanup(() => lab.destroySync());
const dir = mkdtempSync('/tmp/bstbench-');
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const rows = [];
try {
  const netns = lab.addNetns('r');
  lab.addVeth({ netns, ifname: 'msc0', addresses: ['10.0.0.1/24'] }, { netns, ifname: 'msc1', addresses: ['10.0.1.1/24'] });
  for (const perService of [false, true]) {
    const pinRoot = `/sys/fs/bpf/${lab.id}-${perService ? 'svc' : 'plain'}`;
    const agent = startZitiAgent({ dir: mkdtempSync(`${dir}/a-`), pinRoot, netns, ifname: 'msc0', admin: true, perService });
    onCleanup(() => rmSync(pinRoot, { recursive: true, force: true }));
    onCleanup(() => agent.child.exitCode === null && agent.child.kill('SIGTERM'));
    await waitZitiReady(agent);
    const what = perService ? 'metrics.perService' : 'default metrics';
    for (const n of [0, RULES]) {
      if (n > 0) {
        const operations = intents.slice(0, n).map((r, i) => ({ op: 'insert', rule: { ...apiRule(r), service: `svc-${i % SERVICES}` } }));
        await zitiApi(agent.socket, 'POST', '/v1/rules/batch', { operations });
      }
      const m = await measure(agent.adminSocket);
      const ratio = median(m.scrape) / median(m.status);
      rows.push([what, n.toLocaleString('en'), median(m.scrape), percentile(m.scrape, 99), median(m.status), ratio, String(m.series), String(Math.round(m.bytes / 1024))]);
    }
    await stopZitiAgent(agent);
  }
  printTable(
    `GET /metrics on the admin socket vs GET /v1/status, ${SCRAPES} each in turns, fresh connections (agent: bpfsteer run, tc-tproxy + ziti; ${SERVICES} services)`,
    ['plugin metrics', 'rules', 'scrape median ms', 'scrape p99 ms', 'status median ms', 'scrape / status', 'series', 'KiB'],
    rows,
  );
} finally {
  closeZitiApi();
  runCleanup();
}
