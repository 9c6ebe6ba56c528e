// The packages npm publishes from this repository: every directory the root package.json's
// `workspaces` name ("packages/*", "apps/*") whose package.json is not private. Shared by the
// release scripts and their tests, so that none of them keeps a list of its own.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory (this file is scripts/release/workspace-packages.mjs). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * `{ dir, path, manifest }` per publishable package, sorted by dir: `dir` as the root names it
 * (`packages/ip`), `path` absolute, `manifest` its parsed package.json.
 */
export function publishablePackages(root = repoRoot) {
  const { workspaces = [] } = readJson(join(root, 'package.json'));
  return workspaces
    .flatMap((pattern) => {
      if (!pattern.endsWith('/*') || pattern.slice(0, -2).includes('*')) {
        throw new Error(`workspace pattern "${pattern}": only "<dir>/*" is understood here`);
      }
      const parent = pattern.slice(0, -2);
      return readdirSync(join(root, parent), { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(root, parent, e.name, 'package.json')))
        .map((e) => `${parent}/${e.name}`);
    })
    .map((dir) => ({ dir, path: join(root, dir), manifest: readJson(join(root, dir, 'package.json')) }))
    .filter((p) => !p.manifest.private)
    .sort((a, b) => a.dir.localeCompare(b.dir));
}
