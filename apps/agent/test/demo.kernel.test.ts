/**
 * The README's main job, `bpfsteer demo`, run for real, one test per scenario (each runs alone): it
 * builds the scenario's lab, proves traffic failing (or not steered), steered while the agent runs,
 * and back once it stops, exits 0 only when every proof held, and leaves nothing behind (netns,
 * pins, cgroups), also when interrupted with Ctrl-C (SIGINT).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { cgroup2Root } from '@bpfsteer/core-bpf';
import { afterEach, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo/run-demo.js';
import { spawnBpfsteer } from './support/spawn-bpfsteer.js';

async function demo(scenarios: string[], printConfig = true): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const code = await runDemo({ out, err: out, printConfig, scenarios });
  return { code, text };
}

/** The lab ids a demo output names, and what it would have left behind under them. */
function leftovers(text: string): { labs: string[]; left: string[] } {
  const labs = [...text.matchAll(/^ {2}lab (demo[a-z]{2}-\d+-[0-9a-f]+):/gm)].map((m) => m[1]!);
  const left = labs.flatMap((id) => [
    ...readdirSync('/var/run/netns').filter((n) => n.startsWith(`${id}-`)),
    ...(existsSync(`/sys/fs/bpf/bpfsteer-${id}`) ? [`/sys/fs/bpf/bpfsteer-${id}`] : []),
    ...readdirSync(cgroup2Root()).filter((n) => n.startsWith(`bpfsteer-${id}-`)).map((n) => join(cgroup2Root(), n)),
  ]);
  return { labs, left };
}

function expectAllProven(text: string, scenario: string, proofs: number): void {
  expect(text).not.toContain('NOT PROVEN');
  expect(text.match(/^ {4}PROVEN: /gm)).toHaveLength(proofs);
  expect(text).toContain(`${scenario}: ${proofs}/${proofs} proofs held`);
  const { labs, left } = leftovers(text);
  expect(labs).toHaveLength(1);
  expect(left).toEqual([]);
}

describe('bpfsteer demo', () => {
  it('nexthop: replies lost by asymmetric routing, redirected by tc-nexthop, lost again after the stop', async () => {
    const { code, text } = await demo(['nexthop']);
    expectAllProven(text, 'nexthop', 3);
    expect(text).toMatch(/IPv4 ping ok, IPv4 TCP ok, IPv6 ping ok, IPv6 TCP ok/);
    expect(text).toMatch(/rule 192\.168\.1\.5\/32 -> eth-rt via 10\.111\.221\.21: [1-9]\d* packets/);
    expect(text).toMatch(/kind: nexthop\.redirect/); // --print-config
    expect(code).toBe(0);
  });

  it("tproxy: the router's diverter calls divert TCP and UDP to its tproxy listener; refused / unanswered before and after", async () => {
    const { code, text } = await demo(['tproxy']);
    expectAllProven(text, 'tproxy', 4);
    expect(text.match(/TCP 10\.98\.99\.7:80 fails \(ECONNREFUSED\), UDP 10\.98\.99\.9:53 fails/g)).toHaveLength(2);
    expect(text).toContain('TCP 10.98.99.7:80 -> listener, orig=10.98.99.7:80, UDP 10.98.99.9:53 -> listener, orig=10.98.99.9:53');
    expect(text).toMatch(/TPROXY\s+tcp\s+0\.0\.0\.0\/0\s+10\.98\.99\.0\/24\s+dpts=80:80 TPROXY redirect 127\.0\.0\.1:\d+\s+\[\]\s+[1-9]/);
    expect(text).toMatch(/type: ziti/);
    expect(code).toBe(0);
  });

  it("ambient: mesh traffic to pod:80 lands on the proxy's 15008, the proxy's marked connections skip it, the real port again after the stop", async () => {
    const { code, text } = await demo(['ambient']);
    expectAllProven(text, 'ambient', 6);
    expect(text).toContain('10.94.0.9 -> 10.94.0.2:80: proxy:15008 (orig 10.94.0.2:80), fd00:94::9 -> [fd00:94::2]:80: proxy:15008 (orig [fd00:94::2]:80)');
    expect(text).toContain('proxy mark 0x539 -> 10.94.0.2:80: app, proxy mark 0x539 -> [fd00:94::2]:80: app');
    expect(text).toMatch(/counters: sklookup diverted [4-9]\d*, bypassed [2-9]\d*; cgroup-mark recorded [2-9]\d* marked SYNs/);
    expect(code).toBe(0);
  });

  it("connect: the cgroup's connects land on the local proxy with their original destination; they fail before and after", async () => {
    const { code, text } = await demo(['connect']);
    expectAllProven(text, 'connect', 4);
    expect(text).toContain('app -> 10.97.2.2:80: proxy, orig 10.97.2.2:80, app -> [fd00:97:2::2]:80: proxy, orig [fd00:97:2::2]:80');
    expect(code).toBe(0);
  });

  it('an unknown scenario is a usage error naming the scenarios', async () => {
    const { code, text } = await demo(['nexthop', 'nosuch']);
    expect(code).toBe(2);
    expect(text).toBe('bpfsteer demo: unknown scenario "nosuch"; the scenarios: nexthop, tproxy, ambient, connect\n');
  });

  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('Ctrl-C (SIGINT) while the agent steers: the built CLI removes the lab, the agent, its pins and the cgroups, and exits 130', async () => {
    const run = spawnBpfsteer(['demo', 'ambient'], children);
    let stdout = '';
    run.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    for (const until = Date.now() + 30_000; !stdout.includes('2. agent running'); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > until || run.child.exitCode !== null) throw new Error(`the demo did not get to its agent: ${stdout}`);
    }
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toContain('interrupted (SIGINT): removing what the scenario made');
    expect(r.stdout).not.toContain('3. agent stopped');
    const { labs, left } = leftovers(r.stdout);
    expect(labs).toHaveLength(1);
    expect(left).toEqual([]);
  });
});
