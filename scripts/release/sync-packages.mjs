#!/usr/bin/env node
// Makes every publishable package agree with what the root defines once (package-conventions.mjs):
// its package.json fields, its LICENSE (a copy of the root LICENSE), the exact pins of its siblings
// (sibling-pins.mjs), and its README's links into the repository when the repository URL or release
// branch changed (readme-links.mjs). Also reports what it cannot fix: relative or dead README links,
// a README without its install line or the Node versions of `engines`, pins of packages that are
// not in the repository.
//
// Usage: node scripts/release/sync-packages.mjs [--check]
//   --check   write nothing; list what disagrees and exit 1 if anything does (the unit tests run it)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conventionalManifest, conventionalRoot, fieldDifferences, releaseBranch, repositoryWebUrl } from './package-conventions.mjs';
import { linkProblems, rebaseLinks } from './readme-links.mjs';
import { unknownSiblings, withSiblingPins } from './sibling-pins.mjs';
import { publishablePackages, readJson, repoRoot } from './workspace-packages.mjs';

const SCOPE = '@bpfsteer';

/**
 * What a sync of `root` would write and what it cannot fix: `{ writes, problems }`, `writes` being
 * `{ file, content, why }` (`why`: one line per difference), `problems` lines naming the file.
 */
export function planSync(root = repoRoot) {
  const writes = [];
  const problems = [];
  const text = (file) => (existsSync(join(root, file)) ? readFileSync(join(root, file), 'utf8') : undefined);
  const change = (file, content, why) => {
    if (text(file) !== content) writes.push({ file, content, why: why.length > 0 ? why : ['content differs'] });
  };

  const rootFile = readJson(join(root, 'package.json'));
  const rootManifest = conventionalRoot(rootFile);
  change('package.json', json(rootManifest), fieldDifferences(rootFile, rootManifest));
  const license = text('LICENSE');
  if (license === undefined) problems.push('LICENSE: missing at the repository root (the Apache-2.0 text the packages copy)');
  const web = repositoryWebUrl(rootManifest);
  const branch = releaseBranch(root);

  const packages = publishablePackages(root);
  const versions = new Map(packages.map((p) => [p.manifest.name, p.manifest.version]));
  const packageNames = new Set(versions.keys());
  for (const { dir, manifest } of packages) {
    const expected = withSiblingPins(conventionalManifest(manifest, { rootManifest, dir, branch }), versions);
    change(`${dir}/package.json`, json(expected), fieldDifferences(manifest, expected));
    if (license !== undefined) change(`${dir}/LICENSE`, license, [text(`${dir}/LICENSE`) === undefined ? 'missing' : 'differs from the root LICENSE']);
    for (const name of unknownSiblings(manifest, versions, SCOPE)) problems.push(`${dir}/package.json: depends on ${name}, which is not a package of this repository`);

    const readmeFile = `${dir}/README.md`;
    const readme = text(readmeFile);
    if (readme === undefined) {
      problems.push(`${readmeFile}: missing`);
      continue;
    }
    const previous = previousLocation(manifest.homepage, dir);
    const rebased = previous ? rebaseLinks(readme, previous, { web, branch }) : readme;
    change(readmeFile, rebased, [`links to ${previous?.web}/tree/${previous?.branch} -> ${web}/tree/${branch}`]);
    const context = { root, web, branch, packageNames, name: manifest.name, node: rootManifest.engines.node };
    for (const p of readmeProblems(rebased, context)) problems.push(`${readmeFile}: ${p}`);
  }
  return { writes, problems };
}

/** What a package README lacks as npm shows it: working links, the install line, the Node versions. */
function readmeProblems(readme, { name, node, ...links }) {
  const problems = linkProblems(readme, links);
  if (!new RegExp(`npm install (-g )?${name.replace('/', '\\/')}\\b`).test(readme)) problems.push(`no install line (\`npm install ${name}\`)`);
  const nodeText = `Node ${node.replace(/^>=\s*/, '>= ')}`;
  if (!readme.includes(nodeText)) problems.push(`does not name the Node versions of \`engines\` ("${nodeText}")`);
  return problems;
}

/** The repository address and branch a package's homepage was made from (`<web>/tree/<branch>/<dir>#readme`). */
function previousLocation(homepage, dir) {
  const m = typeof homepage === 'string' ? /^(.*)\/tree\/([^/]+)\/(.*)#readme$/.exec(homepage) : null;
  return m && m[3] === dir ? { web: m[1], branch: m[2] } : undefined;
}

function json(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const { writes, problems } = planSync();
  for (const w of writes) {
    console.log(`${check ? 'differs' : 'wrote'}: ${w.file}`);
    for (const why of w.why) console.log(`  ${why}`);
    if (!check) writeFileSync(join(repoRoot, w.file), w.content);
  }
  for (const p of problems) console.error(`sync-packages: ${p}`);
  if (writes.length === 0 && problems.length === 0) console.log(`sync-packages: ${relative(process.cwd(), repoRoot) || '.'}: every package agrees with the root`);
  process.exit(problems.length > 0 || (check && writes.length > 0) ? 1 : 0);
}
