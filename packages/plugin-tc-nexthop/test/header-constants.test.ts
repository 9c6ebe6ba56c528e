/**
 * The TypeScript mirrors of bpf/tc_nexthop.h's constants must equal the header's #defines, so the
 * user-space index and the program can never disagree silently.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RULES } from '../src/nexthop-dataplane.js';
import { AF_INET, AF_INET6 } from '../src/map-entries.js';
import * as idx from '../src/prefix-index.js';

const header = readFileSync(new URL('../../../bpf/tc_nexthop.h', import.meta.url), 'utf8');

/** Value of a plain numeric #define (decimal, hex, or `(1u << N)`), resolving names defined before. */
function define(name: string): number {
  const m = new RegExp(`^#define\\s+${name}\\s+(.+)$`, 'm').exec(header);
  if (!m) throw new Error(`bpf/tc_nexthop.h has no #define ${name}`);
  const expr = m[1].trim();
  const shift = /^\(1u? << (\w+)\)$/.exec(expr);
  if (shift) return 2 ** (/^\d+$/.test(shift[1]) ? Number(shift[1]) : define(shift[1]));
  const n = Number(expr.replace(/u$/, ''));
  if (!Number.isFinite(n)) throw new Error(`#define ${name} ${expr}: not a plain number`);
  return n;
}

describe('bpf/tc_nexthop.h constants', () => {
  it.each([
    ['TCNH_AF_INET', AF_INET],
    ['TCNH_AF_INET6', AF_INET6],
    ['TCNH_MAX_RULES', DEFAULT_MAX_RULES],
    ['TCNH_SLOT_NONE', idx.SLOT_NONE],
    ['TCNH_V4_BUCKET_BITS', idx.V4_BUCKET_BITS],
    ['TCNH_V4_BUCKETS', idx.V4_BUCKETS],
    ['TCNH_V4_LONG_MIN', idx.V4_LONG_MIN],
    ['TCNH_V4_SUB_TABLES', idx.V4_SUB_TABLES],
    ['TCNH_V4_SUB_CELLS', idx.V4_SUB_CELLS],
    ['TCNH_V4_SUB_LONG_MIN', idx.V4_SUB_LONG_MIN],
    ['TCNH_V6_LONG_MIN', idx.V6_LONG_MIN],
    ['TCNH_V6_LONG_WORDS', idx.V6_LONG_WORDS],
    ['TCNH_V6_BUCKET_BITS', idx.V6_BUCKET_BITS],
    ['TCNH_V6_BUCKETS', idx.V6_BUCKETS],
    ['TCNH_V6_HASH_MUL', idx.V6_HASH_MUL],
  ])('%s', (name, mirror) => {
    expect(mirror).toBe(define(name));
  });
});
