// Memory of a process, from /proc: its resident set and the BPF maps it holds open.
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS of `pid` in KiB (/proc/<pid>/status). */
export function vmRssKiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS line (a kernel thread, or a zombie?)`);
  return Number(m[1]);
}

/**
 * The BPF maps `pid` holds open, each counted once by map_id: their number and the sum of their
 * `memlock` (bytes the kernel charges for each map) from /proc/<pid>/fdinfo/<fd>.
 */
export function mapMemlock(pid) {
  const seen = new Map();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const id = /^map_id:\s+(\d+)$/m.exec(info);
    const memlock = /^memlock:\s+(\d+)$/m.exec(info);
    if (id && memlock) seen.set(id[1], Number(memlock[1]));
  }
  return { maps: seen.size, bytes: [...seen.values()].reduce((a, b) => a + b, 0) };
}
