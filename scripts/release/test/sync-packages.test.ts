/**
 * Every publishable package agrees with what the root defines once (repository, homepage, bugs,
 * author, license, keywords, Node range), ships a LICENSE equal to the root's, pins its siblings at
 * their versions and has README links that work on the npm page; and the sync script finds and fixes
 * each kind of disagreement (on a throw-away repository).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planSync } from '../sync-packages.mjs';
import { publishablePackages, readJson, repoRoot } from '../workspace-packages.mjs';
import { fakeRepo, type FakeTree, LICENSE_TEXT } from './fake-repo.js';

interface Plan {
  writes: { file: string; content: string; why: string[] }[];
  problems: string[];
}
const describePlan = (plan: Plan): string =>
  [...plan.writes.flatMap((w) => [`${w.file}:`, ...w.why.map((y) => `  ${y}`)]), ...plan.problems].join('\n');

describe('this repository', () => {
  it('has every package in agreement with the root (else: npm run sync:packages)', () => {
    const plan: Plan = planSync(repoRoot);
    expect(describePlan(plan)).toBe('');
  });

  it('releases every publishable package in one fixed changesets group, publicly, from the branch of the links', () => {
    const config = readJson(join(repoRoot, '.changeset', 'config.json'));
    expect(config.access).toBe('public');
    expect(config.baseBranch).toBe('main');
    const names: string[] = publishablePackages(repoRoot).map((p: { manifest: { name: string } }) => p.manifest.name);
    expect(names.length).toBeGreaterThan(10);
    const group: string[] = config.fixed[0];
    const matches = (name: string) => group.some((p) => (p.endsWith('/*') ? name.startsWith(p.slice(0, -1)) : p === name));
    expect(names.filter((n) => !matches(n))).toEqual([]);
    expect(config.fixed).toHaveLength(1);
  });
});

describe('planSync on a throw-away repository', () => {
  let repo: FakeTree;
  afterEach(() => repo?.dispose());

  const sync = (): Plan => {
    const plan: Plan = planSync(repo.root);
    for (const w of plan.writes) writeFileSync(join(repo.root, w.file), w.content);
    return plan;
  };

  it('writes the metadata, the LICENSE copies and the prepack check, then finds nothing more', () => {
    repo = fakeRepo();
    const first = sync();
    expect(first.writes.map((w) => w.file).sort()).toEqual([
      'package.json',
      'packages/a/LICENSE',
      'packages/a/package.json',
      'packages/b/LICENSE',
      'packages/b/package.json',
    ]);
    expect(first.problems).toEqual([]);
    const b = repo.json('packages/b/package.json');
    expect(b.repository).toEqual({ type: 'git', url: 'git+https://github.com/fake/fake.git', directory: 'packages/b' });
    expect(b.homepage).toBe('https://github.com/fake/fake/tree/main/packages/b#readme');
    expect(b.bugs).toEqual({ url: 'https://github.com/fake/fake/issues' });
    expect(b.author).toBe('The fake authors');
    expect(b.keywords).toEqual(['fake', 'ebpf', 'b']);
    expect(b.files).toEqual(['dist', 'README.md', 'LICENSE']);
    expect(b.scripts.prepack).toBe('node ../../scripts/release/check-pack.mjs');
    expect(repo.read('packages/b/LICENSE')).toBe(LICENSE_TEXT);
    expect(repo.json('package.json').homepage).toBe('https://github.com/fake/fake#readme');
    expect(planSync(repo.root)).toEqual({ writes: [], problems: [] });
  });

  it('finds a missing LICENSE copy and one that differs from the root', () => {
    repo = fakeRepo();
    sync();
    repo.remove('packages/a/LICENSE');
    repo.write('packages/b/LICENSE', 'MIT License\n');
    expect(planSync(repo.root).writes.map((w: { file: string }) => w.file)).toEqual(['packages/a/LICENSE', 'packages/b/LICENSE']);
  });

  it('finds a sibling pin that is not the sibling version, and a dependency on no sibling', () => {
    repo = fakeRepo();
    sync();
    const b = repo.json('packages/b/package.json');
    repo.write('packages/b/package.json', { ...b, dependencies: { '@bpfsteer/a': '0.0.9', '@bpfsteer/gone': '0.1.0' } });
    const plan: Plan = planSync(repo.root);
    expect(plan.writes.flatMap((w) => w.why)).toEqual([
      'dependencies: {"@bpfsteer/a":"0.0.9","@bpfsteer/gone":"0.1.0"} -> {"@bpfsteer/a":"0.1.0","@bpfsteer/gone":"0.1.0"}',
    ]);
    expect(plan.problems).toEqual(['packages/b/package.json: depends on @bpfsteer/gone, which is not a package of this repository']);
  });

  it('moves every package and its README links with one edit of the root repository URL', () => {
    repo = fakeRepo();
    sync();
    repo.write('package.json', { ...repo.json('package.json'), repository: { type: 'git', url: 'git+https://github.com/moved/here.git' } });
    const plan = sync();
    expect(plan.problems).toEqual([]);
    expect(repo.json('packages/a/package.json').homepage).toBe('https://github.com/moved/here/tree/main/packages/a#readme');
    expect(repo.json('package.json').bugs).toEqual({ url: 'https://github.com/moved/here/issues' });
    expect(repo.read('packages/a/README.md')).toContain('[the source](https://github.com/moved/here/tree/main/packages/a)');
    expect(planSync(repo.root)).toEqual({ writes: [], problems: [] });
  });

  it('reports README links that do not work on the npm page, and a README without its install line or Node versions', () => {
    repo = fakeRepo();
    sync();
    repo.write(
      'packages/a/README.md',
      '# a\n\n[b](../b), [gone](https://github.com/fake/fake/tree/main/packages/gone), ' +
        '[npm](https://www.npmjs.com/package/@bpfsteer/gone), `[code](../b)`\n\n```md\n[in a block](../b)\n```\n',
    );
    expect(planSync(repo.root).problems).toEqual([
      'packages/a/README.md: line 3: relative link "../b" points nowhere on the npm page: use https://github.com/fake/fake/tree/main/<path> or https://www.npmjs.com/package/<name>',
      'packages/a/README.md: line 3: https://github.com/fake/fake/tree/main/packages/gone: the repository has no packages/gone',
      'packages/a/README.md: line 3: https://www.npmjs.com/package/@bpfsteer/gone: no package @bpfsteer/gone in this repository',
      'packages/a/README.md: no install line (`npm install @bpfsteer/a`)',
      'packages/a/README.md: does not name the Node versions of `engines` ("Node >= 22.12")',
    ]);
  });
});
