// What a bare node process costs, the baseline of the agent-process figures: its start time and
// its resident set when it loads nothing, and the runtime floor of any agent (runtime-floor.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './cleanup.mjs';
import { residentKiB } from './proc-memory.mjs';

/** Wall seconds of each of `runs` sequential `node -e 0` (start and exit of a process that does nothing). */
export function bareNodeStartSeconds(runs) {
  return Array.from({ length: runs }, () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-e', '0']);
    if (r.status !== 0) throw new Error(`node -e 0 exited ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  });
}

/** Resident memory (residentKiB: rss, file) of an idle `node -e` that loads nothing, `settleMs` after it started. */
export function bareNodeRssKiB({ settleMs = 300, timeoutMs = 10_000 } = {}) {
  return idleResident(['-e', "process.stdout.write('up\\n'); setInterval(() => {}, 1 << 30)"], { settleMs, timeoutMs });
}

/**
 * Resident memory (residentKiB) of runtime-floor.mjs - Node's ESM loader, a worker thread with
 * koffi and libbpf loaded, an HTTP server on a unix socket, none of the agent's code - `settleMs`
 * after it was up (the agent's figures are read 5 s after its work).
 */
export async function runtimeFloorKiB({ settleMs = 5000, timeoutMs = 30_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bpfsteer-floor-'));
  const removeDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    return await idleResident([new URL('./runtime-floor.mjs', import.meta.url).pathname, join(dir, 'floor.sock')], { settleMs, timeoutMs });
  } finally {
    removeDir();
  }
}

/** Spawns node with `args`, waits for its "up" line and `settleMs` more, reads its memory, kills it. */
async function idleResident(args, { settleMs, timeoutMs }) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = onCleanup(() => child.kill('SIGKILL'));
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bare node did not start within ${timeoutMs} ms`)), timeoutMs);
      child.stdout.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`bare node exited ${code}`)));
    });
    await new Promise((r) => setTimeout(r, settleMs));
    return residentKiB(child.pid);
  } finally {
    kill();
  }
}
