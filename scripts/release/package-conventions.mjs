// What every publishable package's package.json says that the root package.json defines once:
// the repository (its URL is written only there, as `repository.url`), the homepage and issue
// tracker derived from it, author, license, base keywords and the Node range; and what packing
// needs: LICENSE in `files`, the shared prepack check. Pure functions on parsed manifests: the
// sync script writes what they return, its --check mode and the tests compare.
import { join, relative } from 'node:path';
import { readJson } from './workspace-packages.mjs';

/** The script every package's `prepack` runs, relative to the repository root. */
export const CHECK_PACK_SCRIPT = 'scripts/release/check-pack.mjs';

/** The branch releases are made from, named once in .changeset/config.json (`baseBranch`). */
export function releaseBranch(root) {
  return readJson(join(root, '.changeset', 'config.json')).baseBranch;
}

/** `https://github.com/owner/name` from the root's `repository.url` (`git+https://github.com/owner/name.git`). */
export function repositoryWebUrl(rootManifest) {
  const url = rootManifest.repository?.url;
  const m = typeof url === 'string' ? /^(?:git\+)?(https:\/\/[^/]+\/[^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(url) : null;
  if (!m) throw new Error(`root package.json: repository.url must be like git+https://github.com/<owner>/<name>.git, not ${JSON.stringify(url)}`);
  return m[1];
}

/** The root manifest with the fields derived from its repository URL. */
export function conventionalRoot(rootManifest) {
  const web = repositoryWebUrl(rootManifest);
  return insertAfter(rootManifest, 'repository', {
    repository: { type: 'git', url: rootManifest.repository.url },
    homepage: `${web}#readme`,
    bugs: { url: `${web}/issues` },
  });
}

/** A package's manifest as the conventions want it (`dir`: `packages/ip`); its other fields untouched. */
export function conventionalManifest(manifest, { rootManifest, dir, branch }) {
  const web = repositoryWebUrl(rootManifest);
  const baseKeywords = rootManifest.keywords ?? [];
  const derived = {
    ...(rootManifest.author ? { author: rootManifest.author } : {}),
    repository: { type: 'git', url: rootManifest.repository.url, directory: dir },
    homepage: `${web}/tree/${branch}/${dir}#readme`,
    bugs: { url: `${web}/issues` },
    keywords: [...baseKeywords, ...(manifest.keywords ?? []).filter((k) => !baseKeywords.includes(k))],
  };
  const prepack = `node ${relative(dir, CHECK_PACK_SCRIPT)}`;
  const files = manifest.files ?? [];
  return insertAfter(manifest, 'license', { license: rootManifest.license, ...derived }, {
    engines: { ...manifest.engines, node: rootManifest.engines.node },
    files: files.includes('LICENSE') ? files : [...files, 'LICENSE'],
    scripts: manifest.scripts?.prepack === prepack ? manifest.scripts : { ...manifest.scripts, prepack },
  });
}

/** Where two manifests differ, one line per top-level field: `homepage: "a" -> "b"`. */
export function fieldDifferences(actual, expected) {
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...keys]
    .filter((k) => JSON.stringify(actual[k]) !== JSON.stringify(expected[k]))
    .map((k) => `${k}: ${JSON.stringify(actual[k]) ?? '(absent)'} -> ${JSON.stringify(expected[k]) ?? '(absent)'}`);
}

/**
 * `object` with `fields` set: a field it has keeps its place, a new one follows `anchor` (in the
 * order given); `replacing` sets fields in place (appended when absent).
 */
function insertAfter(object, anchor, fields, replacing = {}) {
  const out = {};
  const pending = Object.keys(fields).filter((k) => !(k in object));
  for (const [k, v] of Object.entries(object)) {
    out[k] = k in fields ? fields[k] : k in replacing ? replacing[k] : v;
    if (k === anchor) for (const p of pending.splice(0)) out[p] = fields[p];
  }
  for (const p of pending) out[p] = fields[p];
  for (const [k, v] of Object.entries(replacing)) if (!(k in out)) out[k] = v;
  return out;
}
