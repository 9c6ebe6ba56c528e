import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Rule } from '../src/rule.js';
import { applyOperations, emptyState, flushRules, insertRule, setInterface, type ZitiState } from '../src/rule-store.js';
import { COMPACT_MIN_BYTES, StateFile, SYNC_DELAY_MS, journalPath, loadState, oldJournalPath, saveState } from '../src/state-file.js';
import { journalText, parseState, serialiseState, serialiseStateInPieces } from '../src/state-text.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ziti-state-'));
});
/** The state files the tests open, closed after each test: a held journal descriptor is not left to the garbage collector. */
const opened: StateFile[] = [];
async function openStateFile(...args: Parameters<typeof StateFile.open>): ReturnType<typeof StateFile.open> {
  const result = await StateFile.open(...args);
  opened.push(result.stateFile);
  return result;
}
afterEach(async () => {
  for (const stateFile of opened.splice(0)) await stateFile.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

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
  expect(await serialiseState(loaded)).toBe(await readFile(file, 'utf8'));
});

test('a rule two services share is saved with its owners and loads the same (snapshot and journal)', async () => {
  const shared = (service: string, tproxyPort: number, interfaces: string[]): Rule => ({
    destination: '10.9.0.0/24', source: '0.0.0.0/0', protocol: 'udp', ports: { low: 53, high: 53 }, action: 'divert', tproxyPort, interfaces, service,
  });
  const one = insertRule(state, shared('a', 4001, ['eth0'])).state;
  const both = insertRule(one, shared('b', 4002, [])).state;
  const file = join(dir, 'shared.json');
  await saveState(file, both);
  const loaded = await loadState(file);
  expect([...loaded.rules]).toEqual([...both.rules]);
  expect([...loaded.rules.values()][1]).toMatchObject({ service: 'b', tproxyPort: 4002, interfaces: [], owners: [{ service: 'a' }, { service: 'b' }] });
  // the journal path: a record putting the shared rule
  const { stateFile } = await openStateFile(join(dir, 'j.json'), quiet());
  await stateFile.save(one);
  await stateFile.save(both);
  await stateFile.close();
  const replayed = await openStateFile(join(dir, 'j.json'), quiet());
  expect([...replayed.state.rules]).toEqual([...both.rules]);
});

test('a stored shared rule whose owner is not a valid rule stops the load, naming it', async () => {
  const file = join(dir, 'bad-owner.json');
  const owners = [{ service: 'a', action: 'divert', tproxyPort: 4001, interfaces: [] }, { service: 'b', action: 'divert', tproxyPort: 0, interfaces: [] }];
  await writeFile(file, JSON.stringify({ version: 1, rules: [{ destination: '10.9.0.0/24', source: '0.0.0.0/0', protocol: 'udp', ports: { low: 53, high: 53 }, action: 'divert', tproxyPort: 4001, interfaces: [], service: 'b', owners }], interfaces: {} }));
  await expect(loadState(file)).rejects.toThrow('rules.0.owners.1.tproxyPort: a divert rule needs tproxyPort');
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

// ---------------------------------------------------------------- the journal

const quiet = () => {
  const lines: string[] = [];
  const details: object[] = [];
  const log = (level: string) => (d: object, m: string) => {
    lines.push(`${level}: ${m}`);
    details.push(d);
  };
  return { lines, details, info: log('info'), warn: log('warn'), error: log('error') };
};

const r = (n: number, patch: Partial<Rule> = {}): Rule => ({
  destination: `10.1.${n >> 8}.${n & 255}/32`,
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 443, high: 443 },
  action: 'divert',
  tproxyPort: 15000,
  interfaces: [],
  ...patch,
});
const insertAll = (s: ZitiState, rules: Rule[]) => {
  const done = applyOperations(s, rules.map((rule) => ({ op: 'insert' as const, rule })));
  if (!done.ok) throw new Error('insert failed');
  return done.state;
};
const same = (a: ZitiState, b: ZitiState) => {
  expect(new Map(a.rules)).toEqual(new Map(b.rules));
  expect(new Map(a.interfaces)).toEqual(new Map(b.interfaces));
};

describe('StateFile: snapshot + journal', () => {
  test('a commit appends only what changed; a restart replays the journal and compacts it', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, [r(1), r(2), r(3)]);
    await stateFile.save(a);
    const b = insertAll(a, [r(4), r(2, { tproxyPort: 16000 })]);
    await stateFile.save(b);
    const del = applyOperations(b, [{ op: 'delete', selector: { ...r(1), ports: { low: 443, high: 443 } } }]);
    if (!del.ok) throw new Error('delete failed');
    const c = setInterface(del.state, 'eth0', { echo: true }).state;
    await stateFile.save(c);
    await stateFile.save(c); // nothing changed: nothing written

    const lines = (await readFile(journalPath(file), 'utf8')).split('\n');
    expect(lines).toHaveLength(4); // three records and the empty string after the last newline
    expect(JSON.parse(lines[0]).put).toHaveLength(3);
    const byDestination = (x: Rule, y: Rule) => (x.destination < y.destination ? -1 : 1);
    expect(JSON.parse(lines[1]).put.sort(byDestination)).toEqual([r(2, { tproxyPort: 16000 }), r(4)]);
    expect(JSON.parse(lines[2])).toEqual({ delete: [{ destination: '10.1.0.1/32', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 443, high: 443 } }], interfaces: { eth0: { echo: true } } });
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' }); // no snapshot yet: nothing was compacted

    same(await loadState(file), c);
    const log = quiet();
    const reopened = await openStateFile(file, log);
    same(reopened.state, c);
    expect(log.lines).toEqual(['info: compacted the state journal into the state file']);
    expect((await readFile(journalPath(file), 'utf8'))).toBe('');
    same(await parseState(await readFile(file, 'utf8'), file), c);
  });

  test('a record prepared ahead is appended as made, and only when the saved state is still the one it was made from', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, [r(1), r(2)]);
    const prepared = await stateFile.prepare(a);
    expect(prepared.record?.pieces.join('')).toBe((await journalText(empty, a))!.pieces.join(''));
    prepared.record!.pieces.splice(0, prepared.record!.pieces.length, '{"put":[]}\n'); // marks it: what save writes is this text
    await stateFile.save(a, prepared);
    expect(await readFile(journalPath(file), 'utf8')).toBe('{"put":[]}\n');

    const b = insertAll(a, [r(3)]);
    const stale = await stateFile.prepare(b); // made from a ...
    const c = insertAll(a, [r(4)]);
    await stateFile.save(c, stale); // ... for b, not c: made again
    const d = insertAll(c, [r(5)]);
    const madeFromA = { ...(await stateFile.prepare(d)), from: a, record: { pieces: ['{"put":[]}\n'] } };
    await stateFile.save(d, madeFromA); // not made from the saved c: made again
    const lines = (await readFile(journalPath(file), 'utf8')).trim().split('\n');
    expect(lines.slice(1).map((l) => JSON.parse(l).put.map((x: Rule) => x.destination))).toEqual([[r(4).destination], [r(5).destination]]);
  });

  test('a flush is one short record', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, Array.from({ length: 50 }, (_, i) => r(i)));
    await stateFile.save(a);
    await stateFile.save(flushRules(a).state);
    const lines = (await readFile(journalPath(file), 'utf8')).trim().split('\n');
    expect(JSON.parse(lines[1])).toEqual({ flush: true });
    expect((await loadState(file)).rules.size).toBe(0);
  });

  test('a torn last line (a crash during an append) is ignored with a warning', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, [r(1)]);
    await stateFile.save(a);
    await stateFile.save(insertAll(a, [r(2)]));
    const text = await readFile(journalPath(file), 'utf8');
    for (const torn of [text.slice(0, -20), `${text.slice(0, -20)}\n`]) {
      await writeFile(journalPath(file), torn);
      expect([...(await loadState(file)).rules.values()]).toEqual([r(1)]);
    }
    const log = quiet();
    const reopened = await openStateFile(file, log);
    expect([...reopened.state.rules.values()]).toEqual([r(1)]);
    expect(log.lines[0]).toMatch(/^warn: the state journal ends in an incomplete line/);
    expect(await readFile(journalPath(file), 'utf8')).toBe(''); // compacted: the torn tail is gone
  });

  test('a bad line before the last one stops the load', async () => {
    const file = join(dir, 'rules.json');
    await writeFile(journalPath(file), `{"put":[${JSON.stringify(r(1))}]}\n{"put":[{"destination":"10.0.0.300"}]}\n{"flush":true}\n`);
    await expect(loadState(file)).rejects.toThrow(/line 2\.put\.0/);
    await writeFile(journalPath(file), `{"put":[]}\nnot json\n{"flush":true}\n`);
    await expect(loadState(file)).rejects.toMatchObject({ code: 'ERR_ZITI_STATE_FILE', message: expect.stringContaining('line 2 (byte 11) is not JSON') });
    await writeFile(journalPath(file), `{"upsert":[]}\n`);
    await expect(loadState(file)).rejects.toThrow(/line 1: Unrecognized key/);
  });

  test('once the journal outgrows the snapshot (and COMPACT_MIN_BYTES) it is compacted in the background', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    let s = empty;
    const ruleBytes = JSON.stringify(r(0, { service: 'x'.repeat(200) })).length + 1;
    const perRecord = 200; // ~100 fsync'd saves in all
    const records = Math.ceil((1.5 * COMPACT_MIN_BYTES) / (ruleBytes * perRecord)); // past one compaction, short of a second
    let rotations = 0;
    for (let k = 0; k < records; k++) {
      s = insertAll(s, Array.from({ length: perRecord }, (_, i) => r(k * perRecord + i, { service: 'x'.repeat(200) })));
      await stateFile.save(s);
      const journal = (await stat(journalPath(file))).size;
      if (journal === 0) {
        rotations++;
        // the state saved so far is in the old journal (being compacted) until the new snapshot is in place
      }
      expect(journal).toBeLessThanOrEqual(COMPACT_MIN_BYTES);
    }
    expect(rotations).toBe(1);
    await stateFile.close(); // the background compaction ends
    await expect(stat(oldJournalPath(file))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(file)).size).toBeGreaterThan(COMPACT_MIN_BYTES * 0.9);
    same(await loadState(file), s);
  }, 60_000);

  test('a record that puts every rule (a large batch onto an empty store) is compacted into the same snapshot text', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const service = 'x'.repeat(200);
    const count = Math.ceil((1.2 * COMPACT_MIN_BYTES) / JSON.stringify(r(0, { service })).length);
    const big = insertAll(empty, Array.from({ length: count }, (_, i) => r(i, { service })));
    await stateFile.save(big); // one record past COMPACT_MIN_BYTES: compacted at once, its rules' text reused
    await stateFile.close();
    expect(await readFile(file, 'utf8')).toBe(await serialiseState(big));
    expect((await stat(journalPath(file))).size).toBe(0);
    same(await loadState(file), big);
  }, 60_000);

  test('a crash during a background compaction loses nothing: old journal + either snapshot + journal', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, [r(1), r(2)]);
    await stateFile.save(a);
    const b = insertAll(flushRules(a).state, [r(2, { action: 'pass', tproxyPort: undefined }), r(3)]);
    await stateFile.save(b);
    // the moment the journal was moved aside: b is in the old journal, the snapshot is not written yet
    await rename(journalPath(file), oldJournalPath(file));
    const c = insertAll(b, [r(4)]);
    await writeFile(journalPath(file), (await journalText(b, c))!.pieces.join(''));
    same(await loadState(file), c);
    // the new snapshot written, the old journal not removed yet
    await writeFile(file, await serialiseState(b));
    same(await loadState(file), c);
    const log = quiet();
    const reopened = await openStateFile(file, log);
    same(reopened.state, c);
    await expect(stat(oldJournalPath(file))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(journalPath(file), 'utf8')).toBe('');
  });

  test('replaying the journal onto a snapshot that already holds it changes nothing (crash mid-compaction)', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, [r(1), r(2)]);
    await stateFile.save(a);
    await stateFile.save(flushRules(a).state);
    const b = insertAll(flushRules(a).state, [r(2, { action: 'pass', tproxyPort: undefined }), r(3)]);
    await stateFile.save(b);
    const journal = await readFile(journalPath(file), 'utf8');
    await saveState(file, b); // the compaction's snapshot ...
    await writeFile(journalPath(file), journal); // ... and the journal it did not get to empty
    same(await loadState(file), b);
  });

  test('after a failed append the next save compacts (the change is saved with the next one)', async () => {
    const file = join(dir, 'sub', 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, [r(1)]);
    await stateFile.save(a);
    await rm(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub'), 'a file where the directory was');
    const b = insertAll(a, [r(2)]);
    await expect(stateFile.save(b)).rejects.toThrow();
    await rm(join(dir, 'sub'));
    const c = insertAll(b, [r(3)]);
    await stateFile.save(c);
    expect(await readFile(journalPath(file), 'utf8')).toBe('');
    same(await loadState(file), c);
  });
});

test('a snapshot holds one rule per line, whatever the rules hold', async () => {
  const s = insertAll(emptyState, [r(1), r(2, { service: 'a },{"destination" b', interfaces: ['eth0'] }), r(3, { action: 'pass', tproxyPort: undefined })]);
  const text = await serialiseState(s);
  const lines = text.split('\n').filter((l) => l.startsWith('    {'));
  expect(lines).toHaveLength(3);
  same(await parseState(text, 'x'), s);
  expect(await serialiseState(emptyState)).toBe('{\n  "version": 1,\n  "rules": [],\n  "interfaces": {}\n}\n');
});

test('a journal record that puts every rule of its state carries their text, which makes the same snapshot', async () => {
  const many = insertAll(emptyState, Array.from({ length: 3000 }, (_, i) => r(i, { service: i % 7 ? undefined : `s${i}` })));
  const text = await journalText(emptyState, many);
  expect(text?.allRules?.rules).toBe(many.rules);
  expect(await serialiseStateInPieces(many, undefined, text?.allRules)).toEqual(await serialiseStateInPieces(many));
  // every rule replaced: all put again
  const replaced = insertAll(many, Array.from({ length: 3000 }, (_, i) => r(i, { tproxyPort: 15001 })));
  const again = await journalText(many, replaced);
  expect((await serialiseStateInPieces(replaced, undefined, again?.allRules)).join('')).toBe(await serialiseState(replaced));
  // some rules put: no text of them all (and text of another table is not used)
  const more = insertAll(many, [r(5000)]);
  expect((await journalText(many, more))?.allRules).toBeUndefined();
  expect((await serialiseStateInPieces(more, undefined, text?.allRules)).join('')).toBe(await serialiseState(more));
});

// ---------------------------------------------------------------- damage (issue 9 item 7a)

const threeRules = await serialiseState(insertAll(emptyState, [r(1), r(2), r(3)]));

describe('durability: group commit (see state-file.ts)', () => {
  /** Counts the fdatasync / fsync calls of every FileHandle while `run` runs. */
  async function countSyncs(run: () => Promise<void>): Promise<{ datasync: number; sync: number }> {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void>; sync: () => Promise<void> };
    await probe.close();
    const datasync = vi.spyOn(proto, 'datasync');
    const sync = vi.spyOn(proto, 'sync');
    try {
      await run();
      return { datasync: datasync.mock.calls.length, sync: sync.mock.calls.length };
    } finally {
      datasync.mockRestore();
      sync.mockRestore();
    }
  }

  /**
   * Counts the writes of the journal while `run` runs: asynchronous ones (FileHandle write and
   * writev) and synchronous write(2)s (fs.writeSync, which state-file.ts imports by name: the
   * named export follows the spied one after syncBuiltinESMExports).
   */
  async function countWrites(run: () => Promise<void>): Promise<{ async: number; sync: number }> {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as Record<'write' | 'writev', () => Promise<unknown>>;
    await probe.close();
    const spies = { write: vi.spyOn(proto, 'write'), writev: vi.spyOn(proto, 'writev'), writeSync: vi.spyOn(fs, 'writeSync') };
    syncBuiltinESMExports();
    try {
      await run();
      return { async: spies.write.mock.calls.length + spies.writev.mock.calls.length, sync: spies.writeSync.mock.calls.length };
    } finally {
      for (const spy of Object.values(spies)) spy.mockRestore();
      syncBuiltinESMExports();
    }
  }

  test('appends are written before save returns, and share one fdatasync (not one per request)', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    let s = empty;
    const during = await countSyncs(async () => {
      for (let i = 0; i < 20; i++) {
        s = insertAll(s, [r(i)]);
        await stateFile.save(s);
        expect((await readFile(journalPath(file), 'utf8')).split('\n')).toHaveLength(i + 2); // written: a kill -9 now loses nothing
      }
    });
    expect(during.datasync + during.sync).toBeLessThan(5); // per request it was 20 (the cost of most of a single insert)
    const atClose = await countSyncs(() => stateFile.close());
    expect(atClose.datasync).toBe(1); // close syncs what is left
    same(await loadState(file), s);
  });

  test('the journal stays open between appends: one write per record, the same descriptor', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    /** the descriptors of this process open on the journal */
    const journalFds = async () => {
      const fds: string[] = [];
      for (const fd of await readdir('/proc/self/fd')) {
        if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === journalPath(file)) fds.push(fd);
      }
      return fds;
    };
    let s = insertAll(empty, [r(0)]);
    await stateFile.save(s); // opens the journal
    const held = await journalFds();
    expect(held).toHaveLength(1);
    const writes = await countWrites(async () => {
      for (let i = 1; i <= 20; i++) {
        s = insertAll(s, [r(i)]);
        await stateFile.save(s);
      }
    });
    expect(writes.async + writes.sync).toBe(20);
    // a single rule's record is one synchronous write(2) (no thread pool round trip), except while
    // the group's fdatasync runs (then it is written asynchronously): the loop may meet one
    expect(writes.sync).toBeGreaterThan(0);
    expect(await journalFds()).toEqual(held);
    await stateFile.close();
    expect(await journalFds()).toEqual([]);
    same(await loadState(file), s);
  });

  test('a large record is written in a few large writes', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const big = insertAll(empty, Array.from({ length: 12_000 }, (_, i) => r(i, { service: 'x'.repeat(100) })));
    const writes = await countWrites(() => stateFile.save(big));
    const bytes = (await stat(journalPath(file))).size;
    expect(bytes).toBeGreaterThan(2 << 20);
    expect(writes.async).toBeLessThanOrEqual(Math.ceil(bytes / (1 << 20)) + 1);
    expect(writes.sync).toBe(0); // large records never hold the event loop
    await stateFile.close();
    same(await loadState(file), big);
  });

  test('after SYNC_DELAY_MS the group is synced without a close', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const synced = await countSyncs(async () => {
      await stateFile.save(insertAll(empty, [r(1)]));
      await new Promise((resolve) => setTimeout(resolve, SYNC_DELAY_MS + 100));
    });
    expect(synced.datasync).toBe(1);
    const atClose = await countSyncs(() => stateFile.close());
    expect(atClose.datasync).toBe(0); // nothing left to sync
  });

  test('what a power loss leaves at the end of an unsynced journal (NUL bytes, a cut line) is dropped with a warning', async () => {
    const file = join(dir, 'rules.json');
    const { stateFile, state: empty } = await openStateFile(file, quiet());
    const a = insertAll(empty, [r(1)]);
    await stateFile.save(a);
    await stateFile.save(insertAll(a, [r(2)]));
    await stateFile.close();
    const text = await readFile(journalPath(file), 'utf8');
    const firstLine = text.slice(0, text.indexOf('\n') + 1);
    for (const tail of ['\0'.repeat(300), `${'\0'.repeat(300)}\n`, text.slice(firstLine.length, -30)]) {
      await writeFile(journalPath(file), `${firstLine}${tail}`);
      const log = quiet();
      const reopened = await openStateFile(file, log);
      expect([...reopened.state.rules.values()]).toEqual([r(1)]);
      expect(log.lines[0]).toMatch(/^warn: the state journal ends in an incomplete line/);
      await reopened.stateFile.close();
      await rm(file);
    }
  });
});

describe('a damaged state file stops the load, names the file, where and what; changes nothing', () => {
  const snapshotText = () => threeRules;

  test.each<[string, () => string, RegExp]>([
    ['empty', () => '', /state file .*rules\.json is not JSON \(fix or remove it\): it is empty \(0 bytes\)/],
    ['truncated', () => snapshotText().slice(0, 80), /state file .*rules\.json is not JSON \(fix or remove it\): (.*\(line \d+ column \d+\)|it ends early at byte 80)/],
    ['cut at a value boundary', () => snapshotText().slice(0, snapshotText().indexOf('"rules"') + 8), /ends early at byte \d+, in the middle of a value \(truncated\?\)/],
    ['NUL bytes (a write lost in a crash)', () => `${snapshotText().slice(0, 60)}${'\0'.repeat(40)}`, /holds a NUL byte at byte 60/],
    ['garbage after the JSON', () => `${snapshotText()}{"version":1}`, /line \d+ column \d+/],
  ])('snapshot %s', async (_n, text, message) => {
    const file = join(dir, 'rules.json');
    const content = text();
    await writeFile(file, content);
    await writeFile(journalPath(file), `{"put":[${JSON.stringify(r(9))}]}\n`);
    const log = quiet();
    const error = await openStateFile(file, log).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_ZITI_STATE_FILE', message: expect.stringMatching(message) });
    expect(await readFile(file, 'utf8')).toBe(content); // no overwrite
    expect(await readFile(journalPath(file), 'utf8')).toBe(`{"put":[${JSON.stringify(r(9))}]}\n`); // no compaction
  });

  test('a journal line in the middle that is not JSON names its line and byte offset', async () => {
    const file = join(dir, 'rules.json');
    const first = `{"put":[${JSON.stringify(r(1))}]}\n`;
    await writeFile(journalPath(file), `${first}{"put":[{"dest\n{"flush":true}\n`);
    await expect(loadState(file)).rejects.toThrow(new RegExp(`journal .*rules\\.json\\.journal line 2 \\(byte ${first.length}\\) is not JSON`));
  });

  test('a torn last line is dropped with a warning naming the journal, the line and the bytes dropped', async () => {
    const file = join(dir, 'rules.json');
    const first = `{"put":[${JSON.stringify(r(1))}]}\n`;
    await writeFile(journalPath(file), `${first}{"put":[{"destin`);
    const log = quiet();
    const opened = await openStateFile(file, log);
    expect([...opened.state.rules.values()]).toEqual([r(1)]);
    expect(log.lines[0]).toMatch(/^warn: the state journal ends in an incomplete line \(a write cut short\); ignored it/);
    expect(log.details[0]).toMatchObject({ journal: journalPath(file), line: 2, offset: first.length, bytes: 16 });
  });

  test('an old journal (left by a crash during a compaction) that ends torn while the journal goes on is fatal', async () => {
    const file = join(dir, 'rules.json');
    await writeFile(oldJournalPath(file), `{"put":[${JSON.stringify(r(1))}]}\n{"put":[{"destin`);
    await writeFile(journalPath(file), `{"put":[${JSON.stringify(r(2))}]}\n`);
    await expect(loadState(file)).rejects.toMatchObject({
      code: 'ERR_ZITI_STATE_FILE',
      message: expect.stringMatching(/journal .*rules\.json\.journal\.old ends in an incomplete line 2 \(byte \d+\) but .*rules\.json\.journal goes on/),
    });
  });

  test.each<[string, (path: string) => Promise<void>, RegExp]>([
    ['a FIFO', async (path) => void execFileSync('mkfifo', [path]), /is a FIFO, not a regular file/],
    ['a directory', async (path) => mkdir(path).then(() => undefined), /is a directory, not a regular file/],
    ['a character device (symlink to /dev/zero)', async (path) => symlink('/dev/zero', path), /is a character device, not a regular file/],
  ])('a snapshot or journal that is %s is refused at once (never read, never blocks)', async (_n, make, message) => {
    for (const which of ['snapshot', 'journal'] as const) {
      const file = join(dir, `${which}.json`);
      const path = which === 'snapshot' ? file : journalPath(file);
      await make(path);
      const started = Date.now();
      await expect(openStateFile(file, quiet())).rejects.toMatchObject({ code: 'ERR_ZITI_STATE_FILE', message: expect.stringMatching(message) });
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });
});

// ---------------------------------------------------------------- stale temp files (issue 9 item 7c)

describe('stale snapshot temp files', () => {
  const deadPid = async (): Promise<number> => {
    const child = spawn('true');
    await new Promise((resolve) => child.on('exit', resolve));
    return child.pid!;
  };

  test('a start removes <stateFile>.<pid>.tmp of dead processes only, nothing else', async () => {
    const file = join(dir, 'rules.json');
    await saveState(file, insertAll(emptyState, [r(1)]));
    const dead = await deadPid();
    const deadToo = await deadPid();
    const live = spawn('sleep', ['30']);
    try {
      const keep = [
        `rules.json.${live.pid}.tmp`, // another live process is writing it
        `rules.json.${process.pid}.tmp`, // this process
        'rules.json.abc.tmp',
        `rules.json.${dead}.tmp.bak`,
        `rules.json.0.tmp`,
        `other.json.${dead}.tmp`,
        `xrules.json.${dead}.tmp`,
      ];
      for (const name of keep) await writeFile(join(dir, name), 'x');
      await mkdir(join(dir, `rules.json.${deadToo}.tmp`)); // not a regular file
      await writeFile(join(dir, `rules.json.${dead}.tmp`), 'a snapshot cut short');
      const log = quiet();
      await openStateFile(file, log);
      const left = (await readdir(dir)).sort();
      expect(left).toEqual([...keep, `rules.json.${deadToo}.tmp`, 'rules.json'].sort());
      expect(log.lines).toContain('info: removed a stale state file temp file (its writer is gone)');
    } finally {
      live.kill();
    }
  });

  test('a state file that cannot be read keeps its temp files (they may help to recover it)', async () => {
    const file = join(dir, 'rules.json');
    await writeFile(file, '{');
    const tmp = join(dir, `rules.json.${await deadPid()}.tmp`);
    await writeFile(tmp, await serialiseState(emptyState));
    await expect(openStateFile(file, quiet())).rejects.toThrow();
    expect(await readFile(tmp, 'utf8')).toBe(await serialiseState(emptyState));
  });
});
