/** The TypeScript mirrors of bpf/connect_redirect.h's constants must equal the header's #defines. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as limits from '../src/connect-redirect-limits.js';

function define(name: string): number {
  const text = readFileSync(new URL('../../../bpf/connect_redirect.h', import.meta.url), 'utf8');
  const m = new RegExp(`^#define\\s+${name}\\s+(\\S+)`, 'm').exec(text);
  if (!m) throw new Error(`bpf/connect_redirect.h has no #define ${name}`);
  return Number(m[1]);
}

describe('bpf/connect_redirect.h', () => {
  it.each([
    ['CR_MAX_RANGES', limits.MAX_RANGES_PER_PREFIX],
    ['CR_MAX_RULES', limits.MAX_RULES],
    ['CR_RULES_MAX_ENTRIES', limits.RULE_PREFIXES_MAX],
    ['CR_ORIGDST_MAX_ENTRIES', limits.ORIGDST_ENTRIES],
    ['CR_ACTION_DIRECT', limits.ACTION_DIRECT],
    ['CR_ACTION_REDIRECT', limits.ACTION_REDIRECT],
  ])('%s', (name, mirror) => expect(mirror).toBe(define(name)));
});
