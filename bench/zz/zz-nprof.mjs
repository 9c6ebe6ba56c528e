import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { spawn, execFileSync } from 'node:child_process';
import { NetLab } from '@bpfsteer/netlab';
import { onCleanup, runCleanup } from '../cleanup.mjs';
import { closeZitiApi, waitZitiReady, zitiAgentSetup } from '../ziti-agent.mjs';
const lab = NetLab.create('exq');
onCleanup(() => lab.destroySync());
const dir = mkdtempSync('/tmp/bstexp-');
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const native = '/work/main/packages/source-ziti/dist/native/linux-x64/bpfsteer-diverter';
const out = '/tmp/exp/native-agent.cpuprofile'; rmSync(out, { force: true });
try {
  const netns = lab.addNetns('r');
  lab.addVeth({ netns, ifname: 'exq0', addresses: ['10.0.0.1/24'] }, { netns, ifname: 'exq1', addresses: ['10.0.1.1/24'] });
  const setup = zitiAgentSetup({ dir, pinRoot: `/sys/fs/bpf/${lab.id}-agent`, netns, ifname: 'exq0' });
  onCleanup(() => rmSync(setup.pinRoot, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', '/tmp/exp/prof-preload.mjs', '/work/main/apps/agent/dist/bin.js', 'run', '-c', setup.configPath, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PROF_OUT: out, PROF_MS: process.env.PROF_MS ?? '15000' } });
  onCleanup(() => child.exitCode === null && child.kill('SIGKILL'));
  await waitZitiReady({ ...setup, child, stderr: () => '' }, { intervalMs: 10, timeoutMs: 60000 });
  const env = { ...process.env, BPFSTEER_ZITI_SOCKET: setup.socket, BPFSTEER_ZITI_SPOOL: setup.spool, BPFSTEER_DIVERTER_CONF: '/dev/null' };
  const lines = Array.from({ length: Number(process.env.N ?? 1500) }, (_, i) => [native, '-I', '-c', `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, '-m', '32', '-p', 'tcp', '-o', '0.0.0.0', '-n', '0', '-l', '443', '-h', '443', '-t', '15000', '-s', `svc-${i}`].join('\t')).join('\n') + '\n';
  const t = performance.now();
  const res = execFileSync('/work/main/bench/out/exec_time', { input: lines, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = res.trim().split('\n').map((l) => Number(l.split(' ')[1]) / 1e6).sort((a, b) => a - b);
  console.log('calls', ms.length, 'p50', ms[ms.length >> 1].toFixed(2), 'total s', ((performance.now() - t) / 1000).toFixed(2));
  for (let i = 0; i < 300 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 100));
} finally { closeZitiApi(); runCleanup(); }
