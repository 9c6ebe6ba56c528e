/**
 * The prepack check on a throw-away package: built, it passes; without dist/, with dist/ older than
 * src/, with an entry point or a BPF object missing, it fails and says what to run; and `npm pack`
 * runs it through the package's prepack script.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packProblems } from '../check-pack.mjs';
import { FakeTree } from './fake-repo.js';

const checkPack = join(import.meta.dirname, '..', 'check-pack.mjs');

let tree: FakeTree;
/** a built package in `pkg/` with a bin, two exports and a BPF object; the repository's bpf/build beside it */
beforeEach(() => {
  tree = new FakeTree();
  tree.write('pkg/package.json', {
    name: '@bpfsteer/fake',
    version: '0.1.0',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    bin: { fake: './dist/bin.js' },
    exports: {
      '.': { types: './dist/index.d.ts', import: './dist/index.js' },
      './entry': { types: './dist/entry.d.ts', import: './dist/entry.js' },
      './package.json': './package.json',
    },
    files: ['dist', 'bpf', 'README.md', 'LICENSE'],
    bpfsteer: { bpfObjects: ['bpf/fake.bpf.o'] },
    scripts: { prepack: `node ${checkPack}` },
  });
  for (const f of ['README.md', 'LICENSE']) tree.write(`pkg/${f}`, 'text\n');
  tree.write('pkg/src/index.ts', 'export {};\n');
  tree.write('pkg/src/index.test.ts', 'export {};\n');
  tree.age('pkg/src/index.ts', 60);
  tree.age('pkg/src/index.test.ts', 60);
  for (const f of ['index.js', 'index.d.ts', 'entry.js', 'entry.d.ts', 'bin.js']) tree.write(`pkg/dist/${f}`, '\n');
  tree.write('pkg/bpf/fake.bpf.o', 'ELF object');
  tree.write('bpf/build/fake.bpf.o', 'ELF object');
});
afterEach(() => tree.dispose());

const problems = (): string[] => packProblems(join(tree.root, 'pkg'), { root: tree.root });

describe('packProblems', () => {
  it('finds nothing in a built package (a test changed since the build does not count)', () => {
    tree.write('pkg/src/index.test.ts', 'export const changed = 1;\n');
    expect(problems()).toEqual([]);
  });

  it('refuses a package without dist/', () => {
    tree.remove('pkg/dist');
    const found = problems();
    expect(found[0]).toBe('"files" names dist, which is missing: build it first (in pkg: npm run build)');
    expect(found).toContain('main dist/index.js is missing: build it first (in pkg: npm run build)');
    expect(found).toContain('bin["fake"] dist/bin.js is missing: build it first (in pkg: npm run build)');
  });

  it('refuses dist/ older than src/', () => {
    tree.age('pkg/dist/index.js', 120);
    tree.write('pkg/src/new-module.ts', 'export {};\n');
    expect(problems()).toEqual([
      'dist/ is older than src/: src/new-module.ts changed after dist/index.js was built: build it first (in pkg: npm run build)',
    ]);
  });

  it('refuses a missing exports target', () => {
    tree.remove('pkg/dist/entry.d.ts');
    expect(problems()).toEqual(['exports["./entry"]["types"] dist/entry.d.ts is missing: build it first (in pkg: npm run build)']);
  });

  it('refuses a missing, empty or outdated BPF object, and one the tarball would not hold', () => {
    tree.remove('pkg/bpf/fake.bpf.o');
    expect(problems()).toContain(
      'the BPF object bpf/fake.bpf.o is missing or empty: run `make -C bpf` at the repository root, then build it first (in pkg: npm run build)',
    );
    tree.write('pkg/bpf/fake.bpf.o', '');
    expect(problems()).toContain(
      'the BPF object bpf/fake.bpf.o is missing or empty: run `make -C bpf` at the repository root, then build it first (in pkg: npm run build)',
    );
    tree.write('pkg/bpf/fake.bpf.o', 'an older ELF object');
    expect(problems()).toEqual([
      'the BPF object bpf/fake.bpf.o is not bpf/build/fake.bpf.o (make -C bpf rebuilt it since): build it first (in pkg: npm run build)',
    ]);
    tree.write('pkg/bpf/fake.bpf.o', 'ELF object');
    const manifest = tree.json('pkg/package.json');
    tree.write('pkg/package.json', { ...manifest, files: ['dist', 'README.md', 'LICENSE'] });
    expect(problems()).toEqual(['the BPF object bpf/fake.bpf.o is not under any path of "files": the tarball would not hold it']);
  });

  it('stops `npm pack` through the prepack script, naming the package and the problem', () => {
    tree.remove('pkg/dist');
    const packed = spawnSync('npm', ['pack', '--dry-run', '--loglevel=error'], { cwd: join(tree.root, 'pkg'), encoding: 'utf8' });
    expect(packed.status).not.toBe(0);
    expect(packed.stderr).toContain('check-pack: @bpfsteer/fake: "files" names dist, which is missing');
  });
});
