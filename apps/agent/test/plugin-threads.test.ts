/**
 * Each built-in plugin's worker thread imports the module its light entry names and, through it,
 * no schema library: no zod, and neither agent-kernel's nor a contract's main entry (they load
 * zod; a thread that imports zod is ~13 MB larger and starts ~70 ms later). Read from the built
 * modules' import statements, as the thread loads them.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Every package the built module `file` loads at run time, following the package's own modules. */
function packagesLoadedBy(file: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const m of readFileSync(path, 'utf8').matchAll(/(?:\bfrom|\bimport)\s*\(?\s*"([^"]+)"/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(path), spec));
      else packages.add(spec);
    }
  };
  visit(file);
  return packages;
}

const entries = {
  'tc-tproxy': async () => (await import('@bpfsteer/plugin-tc-tproxy/entry')).tcTproxyDeclaration,
  'tc-nexthop': async () => (await import('@bpfsteer/plugin-tc-nexthop/entry')).tcNexthopDeclaration,
  sklookup: async () => (await import('@bpfsteer/plugin-sklookup/entry')).sklookupDeclaration,
  'cgroup-mark': async () => (await import('@bpfsteer/plugin-cgroup-mark/entry')).cgroupMarkDeclaration,
};

describe("the built-in plugins' worker threads", () => {
  it.each(Object.keys(entries))('%s: the module its entry names exports its implementation and loads no zod', async (id) => {
    const declaration = await entries[id as keyof typeof entries]();
    expect(declaration.id).toBe(id);
    const implementation = (await import(declaration.worker.module))[declaration.worker.export] as { id?: string; create?: unknown };
    expect(implementation.id).toBe(id);
    expect(typeof implementation.create).toBe('function');

    const loaded = packagesLoadedBy(fileURLToPath(declaration.worker.module));
    expect(loaded).toContain('@bpfsteer/core-bpf'); // (the walk follows the imports)
    expect(loaded).toContain('@bpfsteer/agent-kernel/plugin-kit');
    const heavy = [...loaded].filter((p) => p === 'zod' || p.startsWith('zod/') || p === '@bpfsteer/agent-kernel' || /^@bpfsteer\/contract-[a-z]+$/.test(p));
    expect(heavy).toEqual([]);
  });
});
