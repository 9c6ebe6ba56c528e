/**
 * The persisted rule store: a snapshot (`<stateFile>`, JSON, one rule per line, written atomically:
 * temp file, fsync, rename, fsync of the directory) and an append-only journal next to it
 * (`<stateFile>.journal`, one JSON line per commit holding only what the commit changed). A commit
 * of 1,000 rules onto 100,000 writes 1,000 rules, not 101,000.
 *
 * The journal is held open between appends (one write per record, or a few large ones for a big
 * batch; opening and closing it per append was a third of a single insert's cost on the main
 * thread) and reopened when a compaction moves it aside or after a failure. A small record (a
 * single insert or delete: a few hundred bytes) is written with a synchronous write(2) of the held
 * descriptor: a copy into the page cache (~5-20 µs) costs less than the round trip to the thread
 * pool and the event-loop turn an async write takes before the commit can be answered. Large
 * records (batches) are written asynchronously, and so is any record while the group fdatasync
 * runs: a write into a page under writeback may wait for it.
 *
 * Durability (group commit): an append is written before the commit is answered but not fsync'd
 * per request; one fdatasync covers every append of the following SYNC_DELAY_MS (and `close`
 * syncs what is left). Measured: the per-request fdatasync was most of a single insert's cost
 * (~1-3 ms of ~2-4 ms on this machine's disk, 0.6 ms for the HTTP round trip alone), and the file
 * only serves agent restarts: a crash or kill -9 of the agent keeps the page cache, so nothing
 * written is lost. Only a power loss or kernel crash can lose the appends of the last
 * SYNC_DELAY_MS; they also empty the BPF maps (bpffs lives in memory), and the router inserts its
 * services again when it restarts. What such a crash can leave at the journal's end (a cut line,
 * NUL bytes) is a torn last line: detected and ignored (below). Snapshots are still fsync'd and
 * renamed: a compaction never loses what the journal it replaces held.
 *
 * Journal records are absolute (`flush`: no rules; `delete`: these identities are gone; `put`:
 * these rules, whole; `interfaces`: the whole settings map), applied in that order, so replaying a
 * journal onto a snapshot that already holds its changes gives that snapshot again.
 *
 * Compaction, once the journal has grown larger than the snapshot (and COMPACT_MIN_BYTES), runs in
 * the background, off the commit path: the journal is renamed `<stateFile>.journal.old` (appends go
 * on in a new journal), the snapshot of the state at that moment is written, then the old journal
 * is removed. A load reads the snapshot, then the old journal if one is left (a crash during a
 * compaction: replaying it onto either snapshot is right, see above), then the journal. At start
 * (when a journal holds anything) and after a failed append or compaction, compaction runs in the
 * foreground instead. A torn last journal line (a crash during an append) is ignored with a
 * warning; any other unreadable line, or an unreadable snapshot, stops the start (never silently
 * empty) and leaves every file as it is. A start that read the state removes the temp files
 * (`<stateFile>.<pid>.tmp`) of snapshots whose writer was killed.
 */
import { fstatSync, writeSync, type Stats } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileReadError, readRegularFilePieces, TimeSlicer } from '@bpfsteer/agent-kernel';
import { ZitiSourceError, errorMessage } from './errors.js';
import { removeStaleTempFiles, tempFilePath } from './remove-stale-temp-files.js';
import { emptyState, type ZitiState } from './rule-store.js';
import { journalText, parseState, replayJournal, serialiseStateInPieces, type JournalReplay, type JournalText, type RuleText, type TornTail } from './state-text.js';

/** The journal is compacted once it is larger than the snapshot and than this (~25,000 rules). */
export const COMPACT_MIN_BYTES = 4 << 20;

/** Appends are fdatasync'd together this long after the first of them (see the header). */
export const SYNC_DELAY_MS = 200;

/** Bytes of text handed to one write (the pieces of a record are joined up to this). */
const WRITE_CHUNK = 1 << 20;

/** Records up to this many bytes may be written synchronously (see the header): ~50 rules. */
const SYNC_WRITE_MAX = 16 << 10;

/** Pieces joined into one buffer before a write (a single insert's record has four). */
const SMALL_RECORD_PIECES = 8;

/** The journal of `file`. */
export function journalPath(file: string): string {
  return `${file}.journal`;
}

/** The journal of `file` being compacted away (left behind only by a crash during a compaction). */
export function oldJournalPath(file: string): string {
  return `${file}.journal.old`;
}

function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The text of a regular file (symlinks followed); undefined when it does not exist. Anything else
 * at the path (a FIFO, a device, a directory) is refused without reading it (readRegularFile opens
 * non-blocking, so a FIFO cannot hold the start).
 */
async function readPieces(file: string, what: string): Promise<string[] | undefined> {
  try {
    return await readRegularFilePieces(file);
  } catch (err) {
    if (err instanceof FileReadError && err.problem === 'missing') return undefined;
    if (err instanceof FileReadError && err.problem === 'not-regular') {
      throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `${what} ${file} is ${fileKind(err.info!)}, not a regular file (fix or remove it)`);
    }
    const cause = (err as { cause?: unknown }).cause ?? err;
    throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `cannot read ${what} ${file}: ${errorMessage(cause)}`, { cause });
  }
}

async function readText(file: string, what: string): Promise<string | undefined> {
  const pieces = await readPieces(file, what);
  return pieces === undefined || pieces.length === 1 ? pieces?.[0] : pieces.join('');
}

export interface LoadedState extends JournalReplay {
  /** the journal whose torn last line was dropped */
  readonly tornIn?: string;
  /** bytes of the snapshot read */
  readonly snapshotBytes: number;
  /** bytes of the journal read */
  readonly journalBytes: number;
}

/**
 * Reads the snapshot and replays the journals; missing files are the empty state. Changes nothing.
 * A torn last line is dropped only at the very end: an old journal that ends torn while the journal
 * goes on is damage in the middle of the log.
 */
export async function readState(file: string, slicer: TimeSlicer = new TimeSlicer()): Promise<LoadedState> {
  // the snapshot is parsed from the pieces it was decoded in (never joined: see readRegularFilePieces)
  const snapshot = await readPieces(file, 'state file');
  let state = snapshot === undefined ? emptyState : await parseState(snapshot, file, slicer);
  let records = 0;
  let torn: { readonly path: string; readonly tail: TornTail } | undefined;
  let journalBytes = 0;
  for (const path of [oldJournalPath(file), journalPath(file)]) {
    const journal = await readText(path, 'state journal');
    if (journal === undefined) continue;
    if (torn && journal.trim() !== '') {
      throw new ZitiSourceError(
        'ERR_ZITI_STATE_FILE',
        `state journal ${torn.path} ends in an incomplete line ${torn.tail.line} (byte ${torn.tail.offset}) but ${path} goes on (fix or remove the files)`,
      );
    }
    const next = await replayJournal(state, journal, path, slicer);
    if (next.torn) torn = { path, tail: next.torn };
    state = next.state;
    records += next.records;
    journalBytes += journal.length;
  }
  return { state, records, ...(torn && { torn: torn.tail, tornIn: torn.path }), snapshotBytes: snapshot?.reduce((n, piece) => n + piece.length, 0) ?? 0, journalBytes };
}

/** Reads the state (snapshot + journals); a missing file is the empty state. */
export async function loadState(file: string): Promise<ZitiState> {
  return (await readState(file)).state;
}

// ---------------------------------------------------------------- writing

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * An open file was removed (its directory deleted, say): written or synced, it would keep nothing.
 * fstat of an open descriptor reads the inode in memory (no disk I/O): ~1 µs, less than a round
 * trip to the thread pool.
 */
function wasRemoved(handle: FileHandle): boolean {
  return fstatSync(handle.fd).nlink === 0;
}

/** A write of a regular file that wrote less than it was given ran out of space (or quota). */
function checkedWrite(written: number, given: number): number {
  if (written !== given) throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `short write: ${written} of ${given} bytes (disk full?)`);
  return written;
}

/**
 * Writes the pieces in order, as few writes of about WRITE_CHUNK bytes (a piece is encoded on its
 * own and the encodings handed to one writev: the text is never joined first); returns the bytes
 * written. A small record is one buffer and one write: a synchronous write(2) when it has at most
 * `syncWriteMax` bytes (see the header), else through the thread pool.
 */
async function writePieces(handle: FileHandle, pieces: readonly string[], syncWriteMax = -1): Promise<number> {
  if (pieces.length <= SMALL_RECORD_PIECES) {
    // one buffer (written as a string, the text took a slower path in node's binding: 4-7x the
    // CPU time of a buffer's write)
    const buffer = Buffer.from(pieces.length === 1 ? pieces[0]! : pieces.join(''), 'utf8');
    const written = buffer.length <= syncWriteMax ? writeSync(handle.fd, buffer) : (await handle.write(buffer)).bytesWritten;
    return checkedWrite(written, buffer.length);
  }
  let bytes = 0;
  let group: Buffer[] = [];
  let length = 0;
  for (const piece of pieces) {
    const buffer = Buffer.from(piece, 'utf8');
    group.push(buffer);
    length += buffer.length;
    if (length >= WRITE_CHUNK) {
      bytes += checkedWrite((await handle.writev(group)).bytesWritten, length);
      group = [];
      length = 0;
    }
  }
  if (length > 0) bytes += checkedWrite((await handle.writev(group)).bytesWritten, length);
  return bytes;
}

/**
 * Writes a snapshot atomically (0600; its directory created 0700 when missing); returns its size.
 * `text`: the rules' text when the journal record just made it (see RuleText).
 */
async function writeSnapshot(file: string, state: ZitiState, text?: RuleText): Promise<number> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = tempFilePath(file);
  const pieces = await serialiseStateInPieces(state, new TimeSlicer(), text);
  const handle = await open(tmp, 'w', 0o600);
  let bytes: number;
  try {
    bytes = await writePieces(handle, pieces);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(tmp, file);
  await syncDir(dir);
  return bytes;
}

async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Writes `state` as the snapshot and removes the journals (a foreground compaction). */
export async function saveState(file: string, state: ZitiState): Promise<void> {
  await writeSnapshot(file, state);
  await removeIfPresent(oldJournalPath(file));
  await removeIfPresent(journalPath(file));
  await syncDir(dirname(file));
}

/** The little of a pino logger the state file uses. */
/** A journal record made ahead of its save (StateFile.prepare): from the saved state `from` to `to`. */
export interface PreparedSave {
  readonly from: ZitiState;
  readonly to: ZitiState;
  readonly record: JournalText | undefined;
}

export interface StateFileLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/**
 * The state file of a running source: `save` appends what changed since the last save to the
 * journal (fdatasync'd with the appends of the next SYNC_DELAY_MS: see the header) and starts a
 * background compaction when due. Saves must not overlap (the service runs them one at a time).
 */
export class StateFile {
  readonly file: string;
  readonly #logger: StateFileLogger;
  #saved: ZitiState;
  #snapshotBytes: number;
  #journalBytes = 0;
  /** the journal, open for appends (absent: opened by the next append) */
  #journal?: FileHandle;
  /** an append or a compaction failed: the next save compacts in the foreground */
  #broken = false;
  #compacting?: Promise<void>;
  /** the pending group sync of the appends not synced yet */
  #syncTimer?: NodeJS.Timeout;
  #syncing?: Promise<void>;
  #unsynced = false;

  private constructor(file: string, logger: StateFileLogger, saved: ZitiState, snapshotBytes: number) {
    this.file = file;
    this.#logger = logger;
    this.#saved = saved;
    this.#snapshotBytes = snapshotBytes;
  }

  /**
   * Reads the state (in slices: the agent keeps answering meanwhile); when a journal held
   * anything, compacts it into a new snapshot first.
   */
  static async open(file: string, logger: StateFileLogger): Promise<{ stateFile: StateFile; state: ZitiState }> {
    const loaded = await readState(file); // throws on damage: then nothing is written or removed
    if (loaded.torn) {
      logger.warn({ journal: loaded.tornIn, ...loaded.torn }, 'the state journal ends in an incomplete line (a write cut short); ignored it');
    }
    try {
      for (const path of await removeStaleTempFiles(file)) logger.info({ path }, 'removed a stale state file temp file (its writer is gone)');
    } catch (err) {
      logger.warn({ err, stateFile: file }, 'could not remove stale state file temp files');
    }
    const stateFile = new StateFile(file, logger, loaded.state, loaded.snapshotBytes);
    if (loaded.journalBytes > 0) {
      await stateFile.#compactNow(loaded.state);
      logger.info({ stateFile: file, records: loaded.records }, 'compacted the state journal into the state file');
    }
    return { stateFile, state: loaded.state };
  }

  /**
   * The journal record that would take the saved state to `state`, made ahead of `save` (while the
   * agent applies the change: IdleWork); `save` uses it when the saved state is still the one it
   * was made from.
   */
  async prepare(state: ZitiState): Promise<PreparedSave> {
    const from = this.#saved;
    return { from, to: state, record: await journalText(from, state) };
  }

  /** Persists `state`: one journal append, synced with the next group (a foreground compaction after a failure). */
  async save(state: ZitiState, prepared?: PreparedSave): Promise<void> {
    if (this.#broken) {
      await this.#compactNow(state);
      return;
    }
    const made = prepared !== undefined && prepared.from === this.#saved && prepared.to === state;
    const record = made ? prepared.record : await journalText(this.#saved, state);
    if (record === undefined) return;
    let bytes: number;
    try {
      bytes = await this.#append(record.pieces);
    } catch (err) {
      this.#broken = true;
      throw err;
    }
    this.#journalBytes += bytes;
    this.#saved = state;
    this.#syncSoon();
    if (this.#journalBytes > Math.max(this.#snapshotBytes, COMPACT_MIN_BYTES) && !this.#compacting) await this.#startCompaction(state, record.allRules);
  }

  /** Waits for a background compaction to end and syncs the appends not synced yet. */
  async close(): Promise<void> {
    await this.#compacting;
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    await this.#syncing;
    if (this.#unsynced) await this.#sync();
    await this.#closeJournal();
  }

  /** Schedules the group's fdatasync (one for every append until it runs). */
  #syncSoon(): void {
    this.#unsynced = true;
    if (this.#syncTimer !== undefined) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      this.#syncing = this.#sync().finally(() => (this.#syncing = undefined));
    }, SYNC_DELAY_MS);
    this.#syncTimer.unref(); // a pending sync never holds the process (close syncs)
  }

  /** fdatasync of the journal (the appends so far). Failures are logged: the next compaction writes everything. */
  async #sync(): Promise<void> {
    this.#unsynced = false;
    const journal = this.#journal; // a compaction that moves it aside closes it after this sync
    if (journal === undefined) return;
    try {
      if (wasRemoved(journal)) {
        this.#broken = true; // nothing to sync: the next save writes everything again
        return;
      }
      await journal.datasync();
    } catch (err) {
      this.#logger.warn({ err, stateFile: this.file }, 'could not sync the state journal');
    }
  }

  /** The open journal; the first open creates the file (and its directory) and syncs its name. */
  async #openJournal(): Promise<FileHandle> {
    if (this.#journal !== undefined) return this.#journal;
    const dir = dirname(this.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const journal = await open(journalPath(this.file), 'a', 0o600);
    try {
      await syncDir(dir); // the journal's name is as durable as its contents
    } catch (err) {
      await journal.close();
      throw err;
    }
    this.#journal = journal;
    return journal;
  }

  /** Closes the journal (it is reopened by path with the next append). */
  async #closeJournal(): Promise<void> {
    const journal = this.#journal;
    this.#journal = undefined;
    await journal?.close(); // waits for a sync in flight
  }

  /**
   * Appends to the journal (emptied first with `truncate`; synced with `sync`); returns the bytes
   * written. A journal removed under the running source (its directory deleted) is refused
   * rather than written into: the save fails and the next one rewrites everything.
   */
  async #append(pieces: readonly string[], options: { truncate?: boolean; sync?: boolean } = {}): Promise<number> {
    const journal = this.#journal ?? (await this.#openJournal());
    if (wasRemoved(journal)) {
      throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `state journal ${journalPath(this.file)} was removed while the source ran`);
    }
    if (options.truncate) await journal.truncate(0);
    // no synchronous write while the group's fdatasync runs (see the header)
    const bytes = await writePieces(journal, pieces, this.#syncing === undefined ? SYNC_WRITE_MAX : -1);
    if (options.sync) await journal.datasync();
    return bytes;
  }

  /** Moves the journal aside (appends go on in a new one) and writes `state` in the background (`text`: see writeSnapshot). */
  async #startCompaction(state: ZitiState, text?: RuleText): Promise<void> {
    const journal = journalPath(this.file);
    const old = oldJournalPath(this.file);
    try {
      await rename(journal, old);
      await this.#closeJournal(); // the held descriptor now writes into the old journal
      this.#journalBytes = 0;
      await this.#append([], { sync: true }); // the new journal, its name synced
    } catch (err) {
      this.#broken = true;
      this.#logger.error({ err, stateFile: this.file }, 'could not start compacting the state journal; compacting with the next change');
      return;
    }
    const run = async (): Promise<void> => {
      try {
        this.#snapshotBytes = await writeSnapshot(this.file, state, text);
        await removeIfPresent(old);
        await syncDir(dirname(this.file));
      } catch (err) {
        this.#broken = true;
        this.#logger.error({ err, stateFile: this.file }, 'compacting the state journal failed; retrying with the next change');
      } finally {
        this.#compacting = undefined;
      }
    };
    this.#compacting = run();
  }

  /** Writes `state` as the snapshot and empties the journals, before anything else is saved. */
  async #compactNow(state: ZitiState): Promise<void> {
    await this.#compacting;
    this.#broken = true; // until the journals are gone
    await this.#closeJournal(); // reopened by path: after a failure, the held one may be gone
    this.#snapshotBytes = await writeSnapshot(this.file, state);
    await removeIfPresent(oldJournalPath(this.file));
    await this.#append([], { truncate: true, sync: true });
    this.#journalBytes = 0;
    this.#saved = state;
    this.#broken = false;
  }
}
