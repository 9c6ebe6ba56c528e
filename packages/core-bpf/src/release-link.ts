/** Releasing a link when its owner closes: kept in force, or detached. */
import type { Link } from './link.js';

export interface ReleaseLinkOptions {
  /** keep pinned attachments in force (an agent restart re-adopts them) */
  readonly keepPinned: boolean;
  /**
   * With keepPinned, after a start that failed: keep only what an earlier run pinned (adopted
   * links); detach the links this run created.
   */
  readonly discardNew?: boolean;
}

/** Whether `link` stays in force when released with `options`. */
export function keepsLink(link: Link, options: ReleaseLinkOptions): boolean {
  return options.keepPinned && (!options.discardNew || link.adopted);
}

/** Releases `link`: closes the handle when it stays in force (see keepsLink), else detaches it (and removes its pin). */
export function releaseLink(link: Link, options: ReleaseLinkOptions): void {
  if (keepsLink(link, options)) link.close();
  else link.detach();
}
