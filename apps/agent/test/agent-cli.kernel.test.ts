/**
 * The built `bpfsteer` binary driving the real tc-nexthop plugin in the asymmetric-routing lab:
 * run -> status -> SIGHUP reload -> SIGTERM, and bad configs that must attach nothing.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcxPrograms } from '@bpfsteer/core-bpf';
import { buildAsymmetricRoutingLab, NetLab, type AsymmetricRoutingLab } from '@bpfsteer/netlab';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnBpfsteer } from './support/spawn-bpfsteer.js';

const lab = NetLab.create('cli');
let l: AsymmetricRoutingLab;
let dir: string;
let pinRoot: string;
const children: ChildProcess[] = [];

const start = (args: string[]) => spawnBpfsteer(args, children);

function config(intents: object[], overrides: { plugin?: object } = {}): string {
  return stringify({
    agent: { pinRoot, adminSocket: join(dir, 'agent.sock'), logLevel: 'info' },
    plugins: [{ id: 'tc-nexthop', netns: lab.nsPath(l.netns.server), interfaces: [l.serverIf.toGateway], ...overrides.plugin }],
    sources: [{ type: 'static', intents }],
  });
}

const redirect = (plan: { service: string; routerOnServerLink: string }, len: number) => ({
  kind: 'nexthop.redirect',
  source: `${plan.service}/${len}`,
  interface: l.serverIf.toRouter,
  nexthop: plan.routerOnServerLink,
});

/** names of the programs on the server's gateway interface, from the kernel (tcx hook and tc filters) */
function attachedPrograms(): string {
  const tcx = tcxPrograms({ ifname: l.serverIf.toGateway, direction: 'egress', netns: l.netns.server }).map((p) => p.name);
  const filters = lab.trySh(l.netns.server, ['tc', 'filter', 'show', 'dev', l.serverIf.toGateway, 'egress']).stdout;
  return `${tcx.join(' ')} ${filters}`;
}

async function waitForStatus(socket: string, ms = 20_000): Promise<Record<string, any>> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await start(['status', '--json', '-s', socket]).done;
    if (r.code === 0) {
      const status = JSON.parse(r.stdout);
      if (status.agent.state === 'running') return status;
    }
    if (Date.now() > until) throw new Error(`agent did not become ready: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

beforeAll(async () => {
  l = buildAsymmetricRoutingLab(lab);
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-agent-kt-${process.pid}-`));
  pinRoot = `/sys/fs/bpf/bpfsteer-kt-${lab.id}`;
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await lab.destroy();
  await rm(dir, { recursive: true, force: true });
  await rm(pinRoot, { recursive: true, force: true });
});

describe('bpfsteer run with tc-nexthop', () => {
  it('steers on start, reloads on SIGHUP, shows status, and cleans up on SIGTERM', async () => {
    const srv = await lab.listen(l.netns.server, 'tcp', l.v4.service, 0);
    const cfg = join(dir, 'agent.yaml');
    await writeFile(cfg, config([redirect(l.v4, 32)]));
    process.env.BPFSTEER_DEBUG_MEMORY = '1'; // the memory report once running (memory-report.ts); the child copies the env now
    const agent = start(['run', '-c', cfg]);
    delete process.env.BPFSTEER_DEBUG_MEMORY;
    const status = await waitForStatus(join(dir, 'agent.sock'));
    const plugin = status.plugins.find((p: { id: string }) => p.id === 'tc-nexthop');
    expect(plugin.state).toBe('running');
    expect(plugin.attachments.length).toBe(1);
    expect(attachedPrograms()).toMatch(/tc_nexthop/);
    expect((await lab.exchange(l.netns.client, 'tcp', l.v4.service, srv.port)).ok).toBe(true);

    await vi.waitFor(() => expect(agent.stderr()).toMatch(/"memory":\{"rss":[\d.]+,"rssAnon":[\d.]+.*"heapUsed":[\d.]+.*"msg":"memory"/), { timeout: 5_000 });

    const table = await start(['status', '-s', join(dir, 'agent.sock')]).done;
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('tc-nexthop');

    // SIGHUP with the intent removed: the redirect stops at once
    await writeFile(cfg, config([]));
    agent.child.kill('SIGHUP');
    const until = Date.now() + 10_000;
    let ok = true;
    while (ok && Date.now() < until) {
      ok = (await lab.exchange(l.netns.client, 'tcp', l.v4.service, srv.port, { timeoutMs: 800 })).ok;
    }
    expect(ok).toBe(false);

    // a bad config on SIGHUP keeps the last good state (no redirect) and the agent alive
    await writeFile(cfg, 'plugins: [\n');
    agent.child.kill('SIGHUP');
    await writeFile(cfg, config([redirect(l.v4, 32)]));
    agent.child.kill('SIGHUP');
    let back = false;
    const until2 = Date.now() + 10_000;
    while (!back && Date.now() < until2) {
      back = (await lab.exchange(l.netns.client, 'tcp', l.v4.service, srv.port, { timeoutMs: 800 })).ok;
    }
    expect(back).toBe(true);

    agent.child.kill('SIGTERM');
    const result = await agent.done;
    expect(result.code).toBe(0);
    // no warning of node's own (e.g. a plugin thread closing fds that libbpf opened)
    expect(agent.stderr()).not.toMatch(/\(node:\d+\) \w*Warning/);
    expect((await lab.exchange(l.netns.client, 'tcp', l.v4.service, srv.port, { timeoutMs: 1000 })).ok).toBe(false);
    expect(attachedPrograms()).not.toMatch(/tc_nexthop/);
    expect(existsSync(join(dir, 'agent.sock'))).toBe(false);
    srv.close();
  });

  it.each([
    ['an unknown plugin', () => config([]).replace('tc-nexthop', 'tc-nexthpo'), /unknown plugin "tc-nexthpo"/],
    ['a bad CIDR', () => config([{ ...redirect(l.v4, 32), source: '192.168.1.300/32' }]), /source/],
    ['a bad next hop', () => config([{ ...redirect(l.v4, 32), nexthop: 'not-an-ip' }]), /nexthop/],
    ['a malformed file', () => 'plugins: [\n  - id: tc-nexthop\n', /config/i],
  ])('rejects %s with a clear message, exit 2, nothing attached', async (_label, text, message) => {
    const cfg = join(dir, `bad-${Math.random().toString(16).slice(2)}.yaml`);
    await writeFile(cfg, text());
    const r = await start(['run', '-c', cfg]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(attachedPrograms()).not.toMatch(/tc_nexthop/);
  });

  it('a missing interface fails the plugin with a clear message and attaches nothing', async () => {
    const cfg = join(dir, 'missing-if.yaml');
    await writeFile(cfg, config([redirect(l.v4, 32)], { plugin: { interfaces: ['eth-nope'] } }));
    const r = await start(['run', '-c', cfg]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/eth-nope/);
    expect(attachedPrograms()).not.toMatch(/tc_nexthop/);
  });
});
