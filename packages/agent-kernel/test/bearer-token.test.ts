import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bearerMatches, readTokenFile } from '../src/bearer-token.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-token-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

test.each<[string | undefined, boolean]>([
  ['Bearer the-token-0123456789', true],
  ['bearer the-token-0123456789', true],
  ['Bearer  the-token-0123456789 ', true],
  ['Bearer the-token-012345678', false],
  ['Bearer the-token-01234567890', false],
  ['Basic the-token-0123456789', false],
  ['the-token-0123456789', false],
  ['Bearer ', false],
  ['', false],
  [undefined, false],
])('%j -> %s', (header, expected) => {
  expect(bearerMatches(header, 'the-token-0123456789')).toBe(expected);
});

test('the token file: trimmed; refused when world-readable, short, or not a file', async () => {
  const file = join(dir, 'token');
  await writeFile(file, '  the-token-0123456789\n', { mode: 0o600 });
  expect(await readTokenFile(file)).toBe('the-token-0123456789');
  await chmod(file, 0o604);
  await expect(readTokenFile(file)).rejects.toThrow('world-readable (mode 0604)');
  await chmod(file, 0o640);
  expect(await readTokenFile(file)).toBe('the-token-0123456789');
  await writeFile(file, 'short');
  await expect(readTokenFile(file)).rejects.toThrow('at least 16 characters');
  await expect(readTokenFile(dir)).rejects.toThrow('not a regular file');
  await expect(readTokenFile(join(dir, 'none'))).rejects.toMatchObject({ code: 'ERR_TOKEN_FILE' });
});
