/**
 * The plugin's worker thread imports tc-tproxy-steps.ts and, through it, no schema library: no zod,
 * and neither agent-kernel's nor the contract's main entry (both load zod). Read from the sources'
 * import statements (type-only imports are erased and do not count), so a new import that would
 * bring zod into the thread fails here.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** The modules a source file imports at run time (relative ones resolved to .ts files). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
    if (m[1]) continue; // import type / export type
    const spec = m[2]!;
    out.push(spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : spec);
  }
  return out;
}

/** Every package a module loads at run time, following the package's own modules. */
function packagesLoadedBy(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('/')) visit(spec);
      else packages.add(spec);
    }
  };
  visit(entry);
  return packages;
}

describe("the plugin's worker thread", () => {
  it('loads no zod and no main entry that does', () => {
    const loaded = packagesLoadedBy(join(src, 'tc-tproxy-steps.ts'));
    expect(loaded).toContain('@bpfsteer/core-bpf'); // (the walk follows the imports)
    expect(loaded).toContain('@bpfsteer/agent-kernel/plugin-kit');
    for (const heavy of ['zod', '@bpfsteer/agent-kernel', '@bpfsteer/contract-tproxy']) expect(loaded).not.toContain(heavy);
  });

  it('the light entry the agent loads declares that module and its export', async () => {
    const { tcTproxyDeclaration } = await import('../src/tc-tproxy-entry.js');
    expect(tcTproxyDeclaration.worker.module.endsWith('/tc-tproxy-steps.js')).toBe(true);
    const steps = await import('../src/tc-tproxy-steps.js');
    const implementation = (steps as Record<string, unknown>)[tcTproxyDeclaration.worker.export] as { id: string; create: unknown };
    expect(implementation.id).toBe(tcTproxyDeclaration.id);
    expect(typeof implementation.create).toBe('function');
  });
});
