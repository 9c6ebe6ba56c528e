// The examples of the READMEs that are checked (apps/agent/test/readme-examples.test.ts against the
// workspace, scripts/release/check-packages.sh against the installed tarballs):
// - a ```yaml block with `plugins:` or `sources:` at its top level is an agent config: it must pass
//   `bpfsteer validate`;
// - a ```ts / ```typescript block whose first line of code (blank and comment lines aside) is an
//   `import` is a complete example: it must type-check with tsc (strict, an ES module of its own,
//   top-level await allowed). A block that does not start with an import is a fragment (a shape,
//   a call, a line of config) and is not compiled.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeBlocks } from './markdown-blocks.mjs';
import { publishablePackages, repoRoot } from './workspace-packages.mjs';

/** The READMEs with examples: the repository's own and every publishable package's, `{ label, text }`. */
export function readmes(root = repoRoot) {
  return ['', ...publishablePackages(root).map((p) => p.dir)].map((dir) => {
    const label = dir ? `${dir}/README.md` : 'README.md';
    return { label, text: readFileSync(join(root, label), 'utf8') };
  });
}

/** The agent configs of a README: `{ code, line }`. */
export function agentConfigs(text) {
  return codeBlocks(text).filter((b) => (b.lang === 'yaml' || b.lang === 'yml') && /^(plugins|sources):/m.test(b.code));
}

/** The complete TypeScript examples of a README: `{ code, line }`. */
export function programExamples(text) {
  return codeBlocks(text).filter((b) => {
    if (b.lang !== 'ts' && b.lang !== 'typescript') return false;
    const first = b.code.split('\n').find((l) => l.trim() !== '' && !/^\s*(\/\/|\/\*|\*)/.test(l));
    return first !== undefined && /^import\b/.test(first);
  });
}

/** The compiler options the examples are checked with: what a user's strict ESM project has. */
export function examplesTsconfig(files, { typeRoots } = {}) {
  return {
    compilerOptions: {
      target: 'ES2023',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023', 'ESNext.Disposable'],
      types: ['node'],
      ...(typeRoots ? { typeRoots } : {}),
      strict: true,
      skipLibCheck: true,
      noEmit: true,
    },
    files,
  };
}

/**
 * Writes the examples of `docs` (`{ label, text }`) under `dir`: each agent config as
 * `configs/<name>.yaml`, each complete example as `examples/<name>.mts` with `tsconfig.json` beside
 * `examples/`. Returns `{ configs, programs }`, each `{ file, source }` (`source`: `README.md:126`).
 */
export function writeExamples(dir, docs, tsconfigOptions) {
  const configs = [];
  const programs = [];
  for (const { label, text } of docs) {
    const name = (line) => `${label.replace(/\/README\.md$|\.md$/, '').replace(/[^\w.-]+/g, '_')}-L${line}`;
    for (const b of agentConfigs(text)) configs.push(write(join(dir, 'configs', `${name(b.line)}.yaml`), b, label));
    for (const b of programExamples(text)) programs.push(write(join(dir, 'examples', `${name(b.line)}.mts`), b, label));
  }
  const tsconfig = examplesTsconfig(programs.map((p) => `examples/${p.file.split('/').pop()}`), tsconfigOptions);
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  return { configs, programs };
}

function write(file, block, label) {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, block.code);
  return { file, source: `${label}:${block.line}` };
}

// node readme-examples.mjs <dir> [--type-roots <dir>] <README>...: writes the examples of the READMEs
// (paths relative to <dir>, which also label them) under <dir>, and prints "config|program <file> <source>"
// per example (check-packages.sh, in the directory the tarballs were installed into).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [dir, ...rest] = process.argv.slice(2);
  const at = rest.indexOf('--type-roots');
  const typeRoots = at >= 0 ? rest.splice(at, 2)[1] : undefined;
  const docs = rest.map((label) => ({ label, text: readFileSync(join(dir, label), 'utf8') }));
  const { configs, programs } = writeExamples(dir, docs, typeRoots ? { typeRoots: [typeRoots] } : undefined);
  for (const c of configs) console.log(`config ${c.file} ${c.source}`);
  for (const p of programs) console.log(`program ${p.file} ${p.source}`);
}
