/**
 * The README's main job, `bpfsteer demo`, run for real: it builds its lab, proves the three steps
 * with real ICMP and TCP over IPv4 and IPv6, and exits 0 only when all held.
 */
import { readdirSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo/run-demo.js';

describe('bpfsteer demo', () => {
  it('shows traffic failing, steered by the agent, and failing again after it stops', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const code = await runDemo({ out, printConfig: true });
    expect(text).toContain('3/3 proofs held');
    expect(text).toMatch(/rule 192\.168\.1\.5\/32 -> eth-rt via 10\.111\.221\.21: [1-9]\d* packets/);
    expect(code).toBe(0);
    // nothing left behind: the lab's netns and the demo's pins
    expect(text).toMatch(/in lab demo-\d+-[0-9a-f]+/);
    const id = /in lab (demo-\d+-[0-9a-f]+)/.exec(text)![1];
    expect(readdirSync('/var/run/netns').filter((n) => n.startsWith(`${id}-`))).toEqual([]);
    expect(readdirSync('/sys/fs/bpf').filter((n) => n.startsWith(`bpfsteer-demo-${process.pid}-`))).toEqual([]);
  });
});
