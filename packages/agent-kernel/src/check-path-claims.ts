/**
 * Refusing a config in which two owners claim one local path (the agent's admin socket, a source's
 * API socket or state file): they would take each other's socket or overwrite each other's file.
 */
import { resolve } from 'node:path';
import type { ConfigIssue } from './contracts.js';
import { formatConfigPath } from './config-issue.js';

export interface OwnedPathClaim {
  readonly path: string;
  /** the owner and what the path is to it, e.g. "the admin socket of the agent" */
  readonly owner: string;
  /** where the config sets it, e.g. ['sources', 0, 'socket'] */
  readonly configPath: readonly (string | number)[];
}

/** One issue per claim of a path an earlier claim holds (compared resolved), naming both owners. */
export function checkPathClaims(claims: readonly OwnedPathClaim[]): ConfigIssue[] {
  const first = new Map<string, OwnedPathClaim>();
  const issues: ConfigIssue[] = [];
  for (const claim of claims) {
    const path = resolve(claim.path);
    const holder = first.get(path);
    if (!holder) {
      first.set(path, claim);
      continue;
    }
    issues.push({
      path: claim.configPath,
      message:
        `${path} is claimed by both ${holder.owner} (${formatConfigPath(holder.configPath)}) and ${claim.owner}; ` +
        'give each its own path',
    });
  }
  return issues;
}
