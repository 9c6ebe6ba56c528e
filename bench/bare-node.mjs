// What a bare node process costs, the baseline of the agent-process figures: its start time and
// its resident set when it loads nothing.
import { spawn, spawnSync } from 'node:child_process';
import { onCleanup } from './cleanup.mjs';
import { vmRssKiB } from './proc-memory.mjs';

/** Wall seconds of each of `runs` sequential `node -e 0` (start and exit of a process that does nothing). */
export function bareNodeStartSeconds(runs) {
  return Array.from({ length: runs }, () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-e', '0']);
    if (r.status !== 0) throw new Error(`node -e 0 exited ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  });
}

/** VmRSS (KiB) of an idle `node -e` that loads nothing, `settleMs` after it started. */
export async function bareNodeRssKiB({ settleMs = 300, timeoutMs = 10_000 } = {}) {
  const child = spawn(process.execPath, ['-e', "process.stdout.write('up\\n'); setInterval(() => {}, 1 << 30)"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
    return vmRssKiB(child.pid);
  } finally {
    kill();
  }
}
