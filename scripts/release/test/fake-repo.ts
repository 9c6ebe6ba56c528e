/** Throw-away repositories and packages on disk for the release scripts' tests. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const LICENSE_TEXT = 'Apache License\nVersion 2.0, January 2004\n';

export class FakeTree {
  readonly root = mkdtempSync(join(tmpdir(), 'bpfsteer-release-test-'));

  write(path: string, content: string | object): string {
    const file = join(this.root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
    return file;
  }

  read(path: string): string {
    return readFileSync(join(this.root, path), 'utf8');
  }

  json(path: string): Record<string, any> {
    return JSON.parse(this.read(path));
  }

  /** Sets a file's modification time `secondsAgo` seconds in the past. */
  age(path: string, secondsAgo: number): void {
    const t = Date.now() / 1000 - secondsAgo;
    utimesSync(join(this.root, path), t, t);
  }

  remove(path: string): void {
    rmSync(join(this.root, path), { recursive: true, force: true });
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * A repository like this one: a root package.json defining the metadata once, a LICENSE, the
 * changesets config, and the packages `packages/a` and `packages/b` (b pins a), not synced yet.
 */
export function fakeRepo(): FakeTree {
  const tree = new FakeTree();
  tree.write('package.json', {
    name: 'fake',
    private: true,
    license: 'Apache-2.0',
    author: 'The fake authors',
    repository: { type: 'git', url: 'git+https://github.com/fake/fake.git' },
    keywords: ['fake', 'ebpf'],
    engines: { node: '>=22.12' },
    workspaces: ['packages/*'],
  });
  tree.write('LICENSE', LICENSE_TEXT);
  tree.write('.changeset/config.json', { baseBranch: 'main', fixed: [['@bpfsteer/*']], access: 'public' });
  for (const [name, deps] of [['a', {}], ['b', { '@bpfsteer/a': '0.1.0' }]] as const) {
    tree.write(`packages/${name}/package.json`, {
      name: `@bpfsteer/${name}`,
      version: '0.1.0',
      license: 'Apache-2.0',
      keywords: [name],
      files: ['dist', 'README.md'],
      engines: { node: '>=22.12' },
      scripts: { build: 'tsup' },
      dependencies: deps,
    });
    tree.write(
      `packages/${name}/README.md`,
      `# @bpfsteer/${name}\n\n\`\`\`sh\nnpm install @bpfsteer/${name}\n\`\`\`\n\nRequirements: Node >= 22.12.\n\n` +
        `See [a](https://www.npmjs.com/package/@bpfsteer/a) and [the source](https://github.com/fake/fake/tree/main/packages/${name}).\n`,
    );
  }
  return tree;
}
