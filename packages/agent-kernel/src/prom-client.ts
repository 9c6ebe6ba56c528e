/**
 * prom-client, loaded with require when the first metric registry is made (it is CommonJS; its load
 * is ~20 ms, which `bpfsteer validate` and the other short commands never pay). Type-only imports
 * of prom-client are erased and cost nothing.
 */
import { createRequire } from 'node:module';

type PromClient = typeof import('prom-client');

let loaded: PromClient | undefined;

export const promClient = (): PromClient => (loaded ??= createRequire(import.meta.url)('prom-client') as PromClient);
