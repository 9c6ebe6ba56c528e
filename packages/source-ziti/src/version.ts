/** The package's name and version, read from its package.json on first use. */
import { readFileSync } from 'node:fs';

let cached: { name: string; version: string } | undefined;

export function packageInfo(): { name: string; version: string } {
  if (!cached) {
    // src/version.ts and dist/*.js both sit one level below the package root
    const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    cached = { name: json.name, version: json.version };
  }
  return cached;
}
