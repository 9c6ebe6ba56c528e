/** The version of the agent kernel package (what `bpfsteer_build_info` reports). */
import { createRequire } from 'node:module';

let version: string | undefined;

export function agentVersion(): string {
  version ??= (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  return version;
}
