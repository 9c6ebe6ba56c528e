/**
 * The bearer token of a TCP listener (the ziti source's API, the agent's metrics): read once at
 * start from a file that must be a regular file and not world-readable; compared in constant time.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { TokenFileError, errorMessage } from './errors.js';

export const MIN_TOKEN_LENGTH = 16;

export async function readTokenFile(file: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    throw new TokenFileError(file, `: ${errorMessage(err)}`, { cause: err });
  }
  if (!info.isFile()) throw new TokenFileError(file, ' is not a regular file');
  if (info.mode & 0o004) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new TokenFileError(file, ` is world-readable (mode ${mode}); run \`chmod o-rwx ${file}\` (0600 recommended)`);
  }
  const token = (await readFile(file, 'utf8')).trim();
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new TokenFileError(file, ` must hold one token of at least ${MIN_TOKEN_LENGTH} characters without white space`);
  }
  return token;
}

/**
 * node:crypto, loaded when a token is first checked: only a TCP listener has one, and importing it
 * cost ~12 ms of every agent's start before its APIs answer.
 */
let cryptoModule: typeof import('node:crypto') | undefined;
const nodeCrypto = (): typeof import('node:crypto') => (cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

const digest = (s: string): Buffer => nodeCrypto().createHash('sha256').update(s, 'utf8').digest();

/** Whether an Authorization header carries `Bearer <token>`; constant time in the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  // compare fixed-length digests so neither content nor length leaks through timing
  return nodeCrypto().timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}
