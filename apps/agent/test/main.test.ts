/** The CLI in-process, with fake plugin factories (the built-in plugin is wired in by the coordinator). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type PluginFactory, staticSource } from '@bpfsteer/agent-kernel';
import { main } from '../src/cli.js';
import { textSink } from './support/text-sink.js';

const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/).refine((s) => s.split(/[./]/).slice(0, 4).every((o) => Number(o) <= 255), {
  error: (iss) => `${JSON.stringify(iss.input)} is not a valid CIDR`,
});
const fakeNexthop: PluginFactory<{ interfaces: string[] }> = {
  id: 'tc-nexthop',
  description: 'fake',
  configSchema: z.strictObject({ interfaces: z.array(z.string()) }),
  intents: { 'nexthop.redirect': z.strictObject({ source: cidr, via: z.string() }) },
  requires: [],
  create: () => {
    throw new Error('not used');
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-main-test-${process.pid}-`));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(yaml: string): Promise<{ code: number; out: string; err: string }> {
  const path = join(dir, 'c.yaml');
  await writeFile(path, yaml);
  const out = textSink();
  const err = textSink();
  const code = await main(['validate', '-c', path], {
    stdout: out.stream,
    stderr: err.stream,
    factories: { plugins: [fakeNexthop], sources: [staticSource] },
  });
  return { code, out: out.text(), err: err.text() };
}

describe('main validate', () => {
  const head = 'plugins: [{ id: tc-nexthop, interfaces: [eth0] }]\nsources:\n  - type: static\n    intents:\n';
  it('accepts valid intents', async () => {
    const r = await validate(`${head}      - { kind: nexthop.redirect, source: 10.0.0.0/24, via: gw }\n`);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('valid (plugins: tc-nexthop; sources: static#0)');
  });

  it('names the bad intent field with its path and value', async () => {
    const r = await validate(
      `${head}      - { kind: nexthop.redirect, source: 10.0.0.0/24, via: gw }\n` +
        `      - { kind: nexthop.redirect, source: 10.0.1.0/24, via: gw }\n` +
        `      - { kind: nexthop.redirect, source: 10.0.0.300/24, via: gw }\n` +
        `      - { kind: nexthop.redirekt, source: 10.0.0.0/24 }\n`,
    );
    expect(r.code).toBe(1);
    expect(r.err.split('\n').slice(1, 3)).toEqual([
      '  sources[0].intents[2].source: "10.0.0.300/24" is not a valid CIDR',
      '  sources[0].intents[3].kind: no configured plugin consumes intent kind "nexthop.redirekt"; consumed kinds: nexthop.redirect',
    ]);
  });
});
