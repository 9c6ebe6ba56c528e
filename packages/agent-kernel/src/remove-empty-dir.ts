/**
 * Removes a directory when it is empty (the agent's pin root after a plain stop: each plugin
 * removes its own pin directory in it). Anything else (missing, not empty, busy) leaves it as it is.
 */
import { rmdir } from 'node:fs/promises';

export async function removeEmptyDir(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch {
    return false;
  }
}
