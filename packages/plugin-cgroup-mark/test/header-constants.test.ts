/**
 * The TypeScript mirrors of bpf/cgroup_mark.h's and bpf/mesh_bypass.h's constants must equal the
 * headers' #defines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BYPASS_ENTRIES } from '../src/bypass-limits.js';
import { MARK_PRESETS } from '../src/mark-selector.js';

function define(file: string, name: string): number {
  const text = readFileSync(new URL(`../../../bpf/${file}`, import.meta.url), 'utf8');
  const m = new RegExp(`^#define\\s+${name}\\s+(\\S+)`, 'm').exec(text);
  if (!m) throw new Error(`bpf/${file} has no #define ${name}`);
  return Number(m[1]);
}

describe('bpf headers', () => {
  it.each([
    ['cgroup_mark.h', 'CGM_INPOD_MARK', MARK_PRESETS['ambient-inpod'].value],
    ['cgroup_mark.h', 'CGM_INPOD_MASK', MARK_PRESETS['ambient-inpod'].mask],
    ['mesh_bypass.h', 'MESH_BYPASS_MAX_ENTRIES', DEFAULT_BYPASS_ENTRIES],
  ])('%s %s', (file, name, mirror) => {
    expect(mirror).toBe(define(file, name));
  });
  it('the program defaults its .rodata mark to the in-pod preset', () => {
    const src = readFileSync(new URL('../../../bpf/cgroup_mark.bpf.c', import.meta.url), 'utf8');
    expect(src).toMatch(/const volatile __u32 cgm_mark_value = CGM_INPOD_MARK;/);
    expect(src).toMatch(/const volatile __u32 cgm_mark_mask = CGM_INPOD_MASK;/);
  });
});
