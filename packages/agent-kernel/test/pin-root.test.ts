import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createAgent } from '../src/create-agent.js';
import { captureLogger, fakePlugin } from './fakes.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-pin-root-test-${process.pid}-`));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function runAndStop(pinRoot: string, keepPinned: boolean): Promise<void> {
  const agent = createAgent({
    plugins: [fakePlugin('pa', [])],
    sources: [],
    logger: captureLogger().logger,
    config: { agent: { adminSocket: false, pinRoot, timeouts: { openMs: 500, applyMs: 500, closeMs: 500 } }, plugins: [{ id: 'pa' }], sources: [] },
  });
  await agent.start();
  await agent.stop({ keepPinned });
}

const exists = (path: string) => stat(path).then(() => true, () => false);

it('a plain stop removes the pin root once it is empty', async () => {
  const pinRoot = join(dir, 'pins');
  await mkdir(pinRoot);
  await runAndStop(pinRoot, false);
  expect(await exists(pinRoot)).toBe(false);
});

it('keeps a pin root that still holds something, and every pin root on a stop that keeps the pins', async () => {
  const full = join(dir, 'full');
  await mkdir(full);
  await writeFile(join(full, 'other'), '');
  await runAndStop(full, false);
  expect(await exists(join(full, 'other'))).toBe(true);
  const kept = join(dir, 'kept');
  await mkdir(kept);
  await runAndStop(kept, true);
  expect(await exists(kept)).toBe(true);
});
