/**
 * A plugin that fails during start leaves nothing pinned that this start created (tc-tproxy on an
 * interface that does not exist: its 12 maps, ~33 MB, used to stay under the pin root), while a
 * failing restart keeps what a previous run left pinned in force.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Agent, createAgent } from '@bpfsteer/agent-kernel';
import { autoTcLinkType, openPinnedLink, probeFeature } from '@bpfsteer/core-bpf';
import { NetLab } from '@bpfsteer/netlab';
import { tcTproxyPlugin } from '@bpfsteer/plugin-tc-tproxy';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const lab = NetLab.create('fsp');
let ns: string;
const roots: string[] = [];
const agents: Agent[] = [];

/** A pin root of this test's own: `/sys/fs/bpf/bpfsteer-fsp-<pid>-<random>` (not created here). */
function pinRoot(): string {
  const root = `/sys/fs/bpf/bpfsteer-fsp-${process.pid}-${randomBytes(3).toString('hex')}`;
  roots.push(root);
  return root;
}

/** Every file and directory under `dir`, relative, sorted (empty when `dir` is missing). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    out.push(name);
    if (statSync(path).isDirectory()) out.push(...tree(path).map((sub) => `${name}/${sub}`));
  }
  return out.sort();
}

function agentFor(root: string, interfaces: string[]): Agent {
  const agent = createAgent({
    plugins: [tcTproxyPlugin],
    sources: [],
    featureProbe: { check: (f) => probeFeature(f) },
    config: {
      agent: { pinRoot: root, adminSocket: false, logLevel: 'silent' },
      plugins: [{ id: 'tc-tproxy', netns: ns, interfaces: interfaces.map((name) => ({ name })) }],
      sources: [],
    },
  });
  agents.push(agent);
  return agent;
}

beforeAll(() => {
  ns = lab.addNetns('r');
  lab.addVeth({ netns: ns, ifname: 'fspa' }, { netns: ns, ifname: 'fspb' });
});
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.stop();
});
afterAll(async () => {
  await lab.destroy(); // the veth goes with the netns, and with it any tc attachment
  for (const root of roots) {
    if (root.startsWith('/sys/fs/bpf/bpfsteer-fsp-')) rmSync(root, { recursive: true, force: true });
  }
});

describe('a plugin failing during start', () => {
  it('removes every pin and directory its start created', async () => {
    const root = pinRoot();
    const agent = agentFor(root, ['nope0']);
    await agent.start();
    const [report] = (await agent.status()).plugins;
    expect(report).toMatchObject({ id: 'tc-tproxy', state: 'failed' });
    expect(report!.error).toMatch(/configured interface nope0/);
    expect(tree(root)).toEqual([]);
    expect(existsSync(root)).toBe(false);
  });

  it('keeps the pins a previous run left in force when the restart fails', async () => {
    const root = pinRoot();
    const first = agentFor(root, ['fspa']);
    await first.start();
    expect((await first.status()).plugins[0]).toMatchObject({ state: 'running' });
    await first.stop({ keepPinned: true }); // an agent restart keeps its dataplane
    const kept = tree(root);
    expect(kept).toContain('tc-tproxy/maps');
    expect(kept).toContain('tc-tproxy/links/ingress-fspa');
    expect(kept.filter((p) => p.startsWith('tc-tproxy/maps/')).length).toBeGreaterThanOrEqual(10);

    const restart = agentFor(root, ['fspa', 'nope0']);
    await restart.start();
    expect((await restart.status()).plugins[0]).toMatchObject({ state: 'failed' });
    expect(tree(root)).toEqual(kept);
    // the kept attachment is still in force
    const link = openPinnedLink(join(root, 'tc-tproxy', 'links', 'ingress-fspa'), { netns: ns });
    expect(link.type).toBe(autoTcLinkType('ingress'));
    link.close();
  });
});
