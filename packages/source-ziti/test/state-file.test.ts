import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { emptyState, insertRule, setInterface } from '../src/rule-store.js';
import { loadState, saveState, serialiseState } from '../src/state-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ziti-state-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const state = setInterface(
  insertRule(emptyState, { destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381, interfaces: ['lo'], service: 's' }).state,
  'eth0',
  { echo: true },
).state;

test('save then load gives the same state; the file is 0600 in a 0700 directory', async () => {
  const file = join(dir, 'sub', 'rules.json');
  await saveState(file, state);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect((await stat(join(dir, 'sub'))).mode & 0o777).toBe(0o700);
  const loaded = await loadState(file);
  expect([...loaded.rules]).toEqual([...state.rules]);
  expect([...loaded.interfaces]).toEqual([...state.interfaces]);
  expect(serialiseState(loaded)).toBe(await readFile(file, 'utf8'));
});

test('a missing file is the empty state', async () => {
  expect((await loadState(join(dir, 'none.json'))).rules.size).toBe(0);
});

test.each([
  ['not JSON', '{', 'is not JSON'],
  ['wrong version', '{"version":2,"rules":[],"interfaces":{}}', 'version must be 1'],
  ['bad rule', '{"version":1,"rules":[{"destination":"10.0.0.300/8","protocol":"tcp","ports":{"low":1}}],"interfaces":{}}', 'rules.0.destination'],
  ['bad interface name', '{"version":1,"rules":[],"interfaces":{"a/b":{}}}', 'interfaces'],
])('an invalid file (%s) stops the load with a clear error', async (_n, text, message) => {
  const file = join(dir, 'rules.json');
  await writeFile(file, text);
  await expect(loadState(file)).rejects.toThrow(message);
  await expect(loadState(file)).rejects.toMatchObject({ code: 'ERR_ZITI_STATE_FILE' });
});
