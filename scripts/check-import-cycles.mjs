#!/usr/bin/env node
// Fails when source files of a package import each other in a circle (type imports included: a
// circle of types is still two files that cannot be read apart). Run by scripts/test.sh.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDirs = ['packages', 'apps'].flatMap((top) =>
  readdirSync(join(root, top)).map((p) => join(root, top, p, 'src')).filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory()),
);

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const relativeImport = /^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gm;
const cycles = [];
for (const dir of sourceDirs) {
  const graph = new Map();
  for (const file of tsFiles(dir)) {
    const deps = [...readFileSync(file, 'utf8').matchAll(relativeImport)].map((m) => normalize(join(dirname(file), m[1].replace(/\.js$/, '.ts'))));
    graph.set(file, deps);
  }
  const state = new Map();
  const stack = [];
  const visit = (file) => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 'open') cycles.push(stack.slice(stack.indexOf(dep)).map((f) => relative(root, f)));
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
}
if (cycles.length > 0) {
  for (const c of cycles) console.error(`import cycle: ${[...c, c[0]].join(' -> ')}`);
  process.exit(1);
}
console.log(`no import cycles in ${sourceDirs.length} packages`);
