// The BPF programs of the project (every program of every bpf/build object of a bpf/*.bpf.c) and
// what core-bpf's every-object kernel test wrote of those it loaded on a kernel
// (test-results/programs-loaded.json): the lines CI prints per kernel, and the ones not loaded.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** "object/program" of every program in the project's BPF objects (opened, not loaded). */
export async function projectPrograms() {
  const { BpfObject } = await import(join(root, 'packages/core-bpf/dist/index.js'));
  const names = [];
  for (const source of readdirSync(join(root, 'bpf')).filter((f) => f.endsWith('.bpf.c')).sort()) {
    const object = source.slice(0, -'.bpf.c'.length);
    const obj = BpfObject.open(join(root, 'bpf/build', `${object}.bpf.o`));
    try {
      for (const spec of obj.programSpecs()) names.push(`${object}/${spec.name}`);
    } finally {
      obj.close();
    }
  }
  return names;
}

/** { kernel, loaded: ["object/program"], text } from a programs-loaded.json, or undefined when there is none. */
export function programsLoaded(file) {
  if (!existsSync(file)) return undefined;
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const loaded = r.programs.map((p) => `${p.object}/${p.program}`);
  const text = `kernel ${r.kernel}: ${loaded.length} BPF programs loaded: ${r.programs.map((p) => `${p.object}/${p.program} (${p.type})`).join(', ')}`;
  return { kernel: r.kernel, loaded, text };
}
