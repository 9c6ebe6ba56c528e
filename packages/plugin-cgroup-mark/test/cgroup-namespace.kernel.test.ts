/**
 * The proxy's cgroup found from inside a cgroup namespace of the agent's own, as in a Kubernetes
 * pod: a real process in a sibling cgroup, looked up by an agent-like child process that runs in a
 * private cgroup namespace (unshare --cgroup, rooted at its own cgroup); its /proc/<pid>/cgroup then
 * reads "/../<sibling>" and resolveCgroups must enter the host's namespace to name the real cgroup.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroup, removeCgroup } from '@bpfsteer/core-bpf';

const selector = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const coreBpf = fileURLToPath(import.meta.resolve('@bpfsteer/core-bpf'));
const name = `bpfsteer-test-cgns-${randomBytes(4).toString('hex')}`;
let agentSide = '';
let proxySide = '';
let sleeper: ChildProcess | undefined;

beforeAll(() => {
  createCgroup(name);
  agentSide = createCgroup(`${name}/agent`);
  proxySide = createCgroup(`${name}/proxy`);
  // the "proxy": a process in the sibling cgroup
  sleeper = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec sleep 120', proxySide], { stdio: 'ignore' });
});

afterAll(() => {
  sleeper?.kill('SIGKILL');
  const until = Date.now() + 5000;
  while (Date.now() < until && readFileSync(`${proxySide}/cgroup.procs`, 'utf8').trim() !== '') spawnSync('sleep', ['0.05']);
  for (const c of [agentSide, proxySide]) if (c) removeCgroup(c);
  removeCgroup(agentSide.replace(/\/agent$/, ''));
});

/** Runs resolveCgroups({ pid }) in a child process in `agentSide`, in a cgroup namespace of its own when `privateNs`. */
function resolveFromAgentSide(pid: number, privateNs: boolean): { seen: string; resolved?: string[]; error?: string } {
  const script = `
    const { resolveCgroups, procfs } = await import(${JSON.stringify(selector)});
    const core = await import(${JSON.stringify(coreBpf)});
    // the host's cgroup namespace: that of the test runner (this machine's pid 1 is not readable here;
    // in a Kubernetes pod with the host PID namespace it is the host's init, the default)
    const host = { run: (read) => core.inHostCgroupNamespace(() => ({ value: read(), root: core.wholeCgroup2Mount() }), ${process.pid}) };
    const seen = require('node:fs').readFileSync('/proc/${pid}/cgroup', 'utf8').split('\\n').find((l) => l.startsWith('0::'));
    try { console.log(JSON.stringify({ seen, resolved: resolveCgroups({ pid: ${pid} }, procfs, core.cgroup2Root(), host) })); }
    catch (err) { console.log(JSON.stringify({ seen, error: String(err) })); }`;
  const argv = [...(privateNs ? ['unshare', '--cgroup'] : []), process.execPath, '--input-type=commonjs', '-e', `(async () => { ${script} })()`];
  const r = spawnSync('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', agentSide, ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the agent-side child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('the proxy\'s cgroup from a cgroup namespace of the agent\'s own (a Kubernetes pod)', () => {
  it('reads "/../proxy" there, and resolves to the real cgroup through the host\'s namespace', async () => {
    const r = resolveFromAgentSide(sleeper!.pid!, true);
    expect(r.seen).toBe('0::/../proxy');
    expect(r.error).toBeUndefined();
    expect(r.resolved).toEqual([proxySide]);
  });

  it('without a namespace of its own, the path reads whole and resolves as it reads', async () => {
    const r = resolveFromAgentSide(sleeper!.pid!, false);
    expect(r.seen).toMatch(new RegExp(`^0::/.*${name}/proxy$`));
    expect(r.resolved).toEqual([proxySide]);
  });
});
