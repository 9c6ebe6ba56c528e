/**
 * The TypeScript mirrors of bpf/tc_tproxy.h's constants must equal the header's #defines, so the
 * plugin and the program can never disagree silently.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as c from '../src/tproxy-constants.js';

const header = readFileSync(new URL('../../../bpf/tc_tproxy.h', import.meta.url), 'utf8');

/** Value of a numeric #define: decimal, `(1u << N)`, `(A * B)`, `(A * 1000000000ULL)`; names defined before are resolved. */
function define(name: string): number {
  const m = new RegExp(`^#define\\s+${name}\\s+(.+?)\\s*(/\\*.*)?$`, 'm').exec(header);
  if (!m) throw new Error(`bpf/tc_tproxy.h has no #define ${name}`);
  return evaluate(m[1].trim(), name);
}

function evaluate(expr: string, name: string): number {
  const e = expr.replace(/^\((.*)\)$/, '$1').trim();
  const shift = /^(\w+) << (\w+)$/.exec(e);
  if (shift) return evaluate(shift[1], name) * 2 ** evaluate(shift[2], name);
  const product = e.split(' * ');
  if (product.length > 1) return product.reduce((acc, f) => acc * evaluate(f, name), 1);
  const plain = e.replace(/(ULL|UL|U|u)$/, '');
  if (/^\d+$/.test(plain)) return Number(plain);
  if (/^[A-Z_][A-Z0-9_]*$/.test(plain)) return define(plain);
  throw new Error(`#define ${name}: cannot evaluate ${expr}`);
}

describe('bpf/tc_tproxy.h constants', () => {
  it.each([
    ['TCTP_AF_INET', c.AF_INET],
    ['TCTP_AF_INET6', c.AF_INET6],
    ['TCTP_PROTO_TCP', c.PROTO_TCP],
    ['TCTP_PROTO_UDP', c.PROTO_UDP],
    ['TCTP_MAX_RULES', c.DEFAULT_MAX_RULES],
    ['TCTP_MAX_TRIE_ENTRIES', c.DEFAULT_TRIE_ENTRIES],
    ['TCTP_MAX_IFACES', c.MAX_IFACES],
    ['TCTP_MAX_IF_ADDRS', c.MAX_IF_ADDRS],
    ['TCTP_CT_ENTRIES', c.DEFAULT_CT_ENTRIES],
    ['TCTP_EVENTS_BYTES', c.EVENTS_BYTES],
    ['TCTP_RULE_NONE', c.RULE_NONE],
    ['TCTP_SUMMARY_VERSION', c.SUMMARY_VERSION],
    ['TCTP_DST_FIXED_BITS', c.DST_FIXED_BITS],
    ['TCTP_SRC_FIXED_BITS', c.SRC_FIXED_BITS],
    ['TCTP_PORT_FIXED_BITS', c.PORT_FIXED_BITS],
    ['TCTP_INLINE_RANGES', c.INLINE_RANGES],
    ['TCTP_ACTION_DIVERT', c.ACTION_DIVERT],
    ['TCTP_ACTION_PASS', c.ACTION_PASS],
    ['TCTP_ACTION_DENY', c.ACTION_DENY],
    ['TCTP_IF_SSH', c.IF_SSH],
    ['TCTP_IF_ECHO', c.IF_ECHO],
    ['TCTP_IF_IPV6', c.IF_IPV6],
    ['TCTP_IF_EVENTS_DROP', c.IF_EVENTS_DROP],
    ['TCTP_IF_EVENTS_DIVERT', c.IF_EVENTS_DIVERT],
    ['TCTP_EV_DROP', c.EV_DROP],
    ['TCTP_EV_DIVERT', c.EV_DIVERT],
    ['TCTP_TCP_IDLE_NS', c.DEFAULT_TCP_IDLE_SECONDS * 1e9],
    ['TCTP_UDP_IDLE_NS', c.DEFAULT_UDP_IDLE_SECONDS * 1e9],
    ['TCTP_TCP_CLOSING_NS', c.DEFAULT_TCP_CLOSING_SECONDS * 1e9],
  ])('%s', (name, mirror) => {
    expect(mirror).toBe(define(name));
  });

  it('has a name for every event reason code, in code order', () => {
    const codes = [...header.matchAll(/^#define\s+TCTP_REASON_(\w+)\s+(\d+)/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(codes.length).toBe(c.REASONS.length);
    for (const [name, code] of codes) expect(c.REASONS[code]).toBe(name.toLowerCase().replace(/_/g, '-'));
  });
});
