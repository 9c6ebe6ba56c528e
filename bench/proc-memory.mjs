// Memory of a process, from /proc: its resident set and the BPF maps it holds open.
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS of `pid` in KiB (/proc/<pid>/status). */
export function vmRssKiB(pid) {
  return residentKiB(pid).rss;
}

/**
 * The resident set of `pid` in KiB (/proc/<pid>/status): `rss` (VmRSS) and, of it, `file`
 * (RssFile: pages of mapped files - the node binary's code and data, shared libraries - clean,
 * shared with every other process running them).
 */
export function residentKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name} line (a kernel thread, or a zombie?)`);
    return Number(m[1]);
  };
  return { rss: field('VmRSS'), file: field('RssFile') };
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
