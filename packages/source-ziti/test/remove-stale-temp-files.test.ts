import { expect, test } from 'vitest';
import { isLiveProcess, tempFilePath, tempFilePid } from '../src/remove-stale-temp-files.js';

test.each<[string, number | undefined]>([
  ['rules.json.123.tmp', 123],
  ['rules.json.4194304.tmp', 4194304],
  ['rules.json.4194305.tmp', undefined], // above any pid Linux hands out
  ['rules.json.0.tmp', undefined],
  ['rules.json.0123.tmp', undefined],
  ['rules.json.-1.tmp', undefined],
  ['rules.json..tmp', undefined],
  ['rules.json.12a.tmp', undefined],
  ['rules.json.123.tmp.bak', undefined],
  ['rules.json.123', undefined],
  ['xrules.json.123.tmp', undefined],
  ['rules.jsonx.123.tmp', undefined],
  ['rules.json.journal', undefined],
])('tempFilePid("rules.json", %s) is %s', (name, pid) => {
  expect(tempFilePid('rules.json', name)).toBe(pid);
});

test('tempFilePath is what tempFilePid reads back; this process is live', () => {
  expect(tempFilePath('/var/lib/x/rules.json', 42)).toBe('/var/lib/x/rules.json.42.tmp');
  expect(tempFilePid('rules.json', 'rules.json.42.tmp')).toBe(42);
  expect(isLiveProcess(process.pid)).toBe(true);
});
