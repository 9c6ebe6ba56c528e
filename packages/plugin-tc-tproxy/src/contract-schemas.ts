/**
 * The contract's zod schemas (@bpfsteer/contract-tproxy), loaded when first needed. The plugin's
 * thread checks rule intents with its own code (tproxy-rule.ts) and needs a schema only to say
 * what is wrong with an invalid one, or for a `tproxy.interface` intent: a thread that meets
 * neither never loads zod (measured: a worker thread that imports zod is ~13 MB larger and starts
 * ~70 ms later). Node loads an ES module synchronously through require() (Node >= 22.12; the
 * contract has no top-level await), as the same module instance an import gives.
 */
import { createRequire } from 'node:module';

type Contract = typeof import('@bpfsteer/contract-tproxy');

let contract: Contract | undefined;

export function contractSchemas(): Contract {
  return (contract ??= createRequire(import.meta.url)('@bpfsteer/contract-tproxy') as Contract);
}

/** What a schema found wrong, one `path: message` per issue (a zod error's issues; typed by shape: no zod import). */
export function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}
