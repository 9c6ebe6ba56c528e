/** Pin directories a loader created under bpffs: detaching the links pinned there, removing them when empty. */
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { openPinnedLink, type OpenPinnedLinkOptions } from './open-pinned-link.js';

/** Removes `dir` if it exists and is empty (never a directory with pins left in it). */
export function removeEmptyPinDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
}

/** Detaches every link pinned in `dir` (which removes its pin), then removes `dir` if it is empty. */
export function detachPinnedLinks(dir: string, options: OpenPinnedLinkOptions = {}): void {
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir)) openPinnedLink(join(dir, file), options).detach();
  removeEmptyPinDir(dir);
}
