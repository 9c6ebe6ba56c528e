/**
 * The TypeScript mirrors of bpf/sk_lookup_mesh.h's and bpf/mesh_bypass.h's constants must equal
 * the headers' #defines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MEMBER } from '../src/map-codecs.js';
import { SKIP_WORDS } from '../src/skip-ports.js';
import { DEFAULT_BYPASS_ENTRIES, DEFAULT_BYPASS_TTL_MS, DEFAULT_MAX_MEMBERS, DEFAULT_MAX_POD_ADDRESSES, DEFAULT_MAX_PODS } from '../src/sklookup-limits.js';

function define(file: string, name: string): number {
  const text = readFileSync(new URL(`../../../bpf/${file}`, import.meta.url), 'utf8');
  const m = new RegExp(`^#define\\s+${name}\\s+(.+)$`, 'm').exec(text);
  if (!m) throw new Error(`bpf/${file} has no #define ${name}`);
  const expr = m[1].trim();
  const ns = /^\((\d+)ULL \* 1000000000ULL\)$/.exec(expr);
  if (ns) return Number(ns[1]) * 1e9;
  return Number(expr);
}

describe('bpf headers', () => {
  it.each([
    ['sk_lookup_mesh.h', 'SKL_MAX_MEMBERS', DEFAULT_MAX_MEMBERS],
    ['sk_lookup_mesh.h', 'SKL_MAX_PODS', DEFAULT_MAX_PODS],
    ['sk_lookup_mesh.h', 'SKL_MAX_POD_ADDRS', DEFAULT_MAX_POD_ADDRESSES],
    ['sk_lookup_mesh.h', 'SKL_SLOT_NONE', 0],
    ['sk_lookup_mesh.h', 'SKL_SKIP_WORDS', SKIP_WORDS],
    ['sk_lookup_mesh.h', 'SKL_MEMBER', MEMBER],
    ['sk_lookup_mesh.h', 'SKL_BYPASS_TTL_NS', DEFAULT_BYPASS_TTL_MS * 1e6],
    ['mesh_bypass.h', 'MESH_BYPASS_MAX_ENTRIES', DEFAULT_BYPASS_ENTRIES],
  ])('%s %s', (file, name, mirror) => {
    expect(mirror).toBe(define(file, name));
  });
});
