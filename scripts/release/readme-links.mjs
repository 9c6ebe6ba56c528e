// The links of a package README as npm shows it: on www.npmjs.com a relative link points nowhere,
// so every link is absolute, and a link into this repository names a path that exists, on the
// release branch. Pure functions on README text.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { proseLines } from './markdown-blocks.mjs';

const INLINE_LINK = /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE_LINK = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/;
const NPM_PACKAGE = 'https://www.npmjs.com/package/';

/** The link targets outside code blocks: `{ target, line }`. */
export function links(text) {
  return proseLines(text).flatMap(({ text: lineText, line }) => {
    const prose = lineText.replace(/`[^`]*`/g, '');
    const found = [...prose.matchAll(INLINE_LINK)].map((m) => m[1]);
    const ref = REFERENCE_LINK.exec(prose);
    if (ref) found.push(ref[1]);
    return found.map((target) => ({ target, line }));
  });
}

/**
 * What is wrong with the links of a README: relative links, links into the repository (`web`, its
 * https address) that are not on `branch` or name a path `root` does not have, npm pages of
 * `@bpfsteer` packages `packageNames` does not hold.
 */
export function linkProblems(text, { root, web, branch, packageNames }) {
  const inRepo = new RegExp(`^${escape(web)}/(?:tree|blob)/([^/]+)/([^#?]*)`);
  return links(text).flatMap(({ target, line }) => {
    if (target.startsWith('#') || target.startsWith('mailto:')) return [];
    if (!/^[a-z][a-z\d+.-]*:/i.test(target)) {
      return [`line ${line}: relative link "${target}" points nowhere on the npm page: use ${web}/tree/${branch}/<path> or ${NPM_PACKAGE}<name>`];
    }
    const repo = inRepo.exec(target);
    if (repo && repo[1] !== branch) return [`line ${line}: ${target} is not on the release branch ${branch}`];
    if (repo && !existsSync(join(root, decodeURIComponent(repo[2])))) return [`line ${line}: ${target}: the repository has no ${repo[2]}`];
    if (target.startsWith(`${NPM_PACKAGE}@bpfsteer/`)) {
      const name = target.slice(NPM_PACKAGE.length).split(/[/#?]/).slice(0, 2).join('/');
      if (!packageNames.has(name)) return [`line ${line}: ${target}: no package ${name} in this repository`];
    }
    return [];
  });
}

/** `text` with its links into the repository `from` (`{ web, branch }`) moved to `to`. */
export function rebaseLinks(text, from, to) {
  if (from.web === to.web && from.branch === to.branch) return text;
  const onBranch = new RegExp(`${escape(from.web)}/(tree|blob)/${escape(from.branch)}/`, 'g');
  return text
    .replace(onBranch, (_, kind) => `${to.web}/${kind}/${to.branch}/`)
    .replace(new RegExp(`${escape(from.web)}(?=[/)#"\\s]|$)`, 'gm'), to.web);
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
