#!/usr/bin/env node
// The prepack check of every package (`"prepack": "node ../../scripts/release/check-pack.mjs"`, so
// `npm pack` and `npm publish` run it in the package's directory): refuses to pack a package that
// would ship without its build. An unbuilt package packs as a README and a package.json, and a
// missing BPF object goes unnoticed until a user's agent fails to load it. It fails, naming each
// problem and what to run, when
// - a path of `files` is missing (dist/, LICENSE, bpf/, ...);
// - a `main`, `types`, `exports` or `bin` target is missing;
// - dist/ is older than src/: a source file changed after the entry points were built;
// - a BPF object the package ships (`bpfsteer.bpfObjects`) is missing, empty, or not the one
//   `make -C bpf` built last (bpf/build/<name>).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './workspace-packages.mjs';

/** What keeps the package in `dir` from being packed: one line per problem, empty when none. */
export function packProblems(dir, { root = repoRoot } = {}) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const build = `build it first (in ${relative(root, dir) || dir}: npm run build)`;
  const problems = [];
  const exists = (path) => existsSync(join(dir, path));

  for (const entry of manifest.files ?? []) {
    if (!/[*?[]/.test(entry) && !exists(entry)) problems.push(`"files" names ${entry}, which is missing${entry.startsWith('dist') ? `: ${build}` : ''}`);
  }
  const targets = entryTargets(manifest);
  const present = [];
  for (const { field, path } of targets) {
    if (exists(path)) present.push(path);
    else problems.push(`${field} ${path} is missing: ${build}`);
  }

  const newestSource = newestFile(join(dir, 'src'));
  const oldestBuilt = present.map((p) => ({ path: p, mtimeMs: statSync(join(dir, p)).mtimeMs })).sort((a, b) => a.mtimeMs - b.mtimeMs)[0];
  if (newestSource && oldestBuilt && newestSource.mtimeMs > oldestBuilt.mtimeMs) {
    problems.push(`dist/ is older than src/: ${relative(dir, newestSource.path)} changed after ${oldestBuilt.path} was built: ${build}`);
  }

  for (const object of manifest.bpfsteer?.bpfObjects ?? []) {
    const built = join(root, 'bpf', 'build', basename(object));
    if (!exists(object) || statSync(join(dir, object)).size === 0) {
      problems.push(`the BPF object ${object} is missing or empty: run \`make -C bpf\` at the repository root, then ${build}`);
    } else if (existsSync(built) && !readFileSync(built).equals(readFileSync(join(dir, object)))) {
      problems.push(`the BPF object ${object} is not bpf/build/${basename(object)} (make -C bpf rebuilt it since): ${build}`);
    }
    if (!(manifest.files ?? []).some((f) => object === f || object.startsWith(`${f.replace(/\/$/, '')}/`))) {
      problems.push(`the BPF object ${object} is not under any path of "files": the tarball would not hold it`);
    }
  }
  return problems;
}

/** The files `main`, `types`, `exports` and `bin` point at: `{ field, path }` (patterns left out). */
function entryTargets(manifest) {
  const targets = [];
  const add = (field, value) => {
    if (typeof value === 'string') {
      if (!value.includes('*')) targets.push({ field, path: value.replace(/^\.\//, '') });
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) add(`${field}[${JSON.stringify(k)}]`, v);
    }
  };
  add('main', manifest.main);
  add('types', manifest.types);
  add('exports', manifest.exports);
  add('bin', typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : manifest.bin);
  return targets.filter((t) => t.path !== 'package.json');
}

/** The most recently changed file under `dir` (tests aside: they are not built). */
function newestFile(dir) {
  if (!existsSync(dir)) return undefined;
  let newest;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name.endsWith('.test.ts')) continue;
    const path = join(e.parentPath, e.name);
    const { mtimeMs } = statSync(path);
    if (!newest || mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  }
  return newest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? process.cwd();
  const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const problems = packProblems(dir);
  for (const p of problems) console.error(`check-pack: ${name}: ${p}`);
  process.exit(problems.length > 0 ? 1 : 0);
}
