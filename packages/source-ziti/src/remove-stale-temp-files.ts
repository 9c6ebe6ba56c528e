/**
 * The temp files snapshots are written to (`<stateFile>.<pid>.tmp`, renamed into place when
 * complete) and the removal of those a killed process left behind. Only names of exactly that
 * form, regular files, whose pid is no live process (nor this one) are removed.
 */
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The largest pid Linux can hand out (PID_MAX_LIMIT on 64-bit). */
const PID_MAX_LIMIT = 4_194_304;

/** The temp file process `pid` writes a snapshot of `file` to. */
export function tempFilePath(file: string, pid: number = process.pid): string {
  return `${file}.${pid}.tmp`;
}

/** The pid in `name` when it is exactly `<base>.<pid>.tmp` with a possible pid; else undefined. Pure. */
export function tempFilePid(base: string, name: string): number | undefined {
  const prefix = `${base}.`;
  if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return undefined;
  const digits = name.slice(prefix.length, -'.tmp'.length);
  if (!/^[1-9][0-9]{0,6}$/.test(digits)) return undefined;
  const pid = Number(digits);
  return pid <= PID_MAX_LIMIT ? pid : undefined;
}

/** Whether a process `pid` exists (a zombie or another user's process counts). */
export function isLiveProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes the snapshot temp files of `file` whose writer is gone; returns the paths removed. */
export async function removeStaleTempFiles(file: string, isLive: (pid: number) => boolean = isLiveProcess): Promise<string[]> {
  const dir = dirname(file);
  const base = basename(file);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const pid = tempFilePid(base, entry.name);
    if (pid === undefined || pid === process.pid || isLive(pid)) continue;
    const path = join(dir, entry.name);
    try {
      await unlink(path);
      removed.push(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}
