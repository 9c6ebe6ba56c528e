/**
 * One kind's intents of one source, changed in place instead of copied per change: every change is
 * a new version, and a bounded log of what each version changed (positions, with what they held
 * before) lets a consumer that last saw an older version learn what changed since (`changedSince`:
 * what a plugin thread is sent), or get that version back (`valuesAt`: what a failed apply rolls
 * back to). A consumer older than the log reaches gets `undefined` and takes the whole list.
 *
 * The items array is handed out as it is (`desiredStateFor`): it is valid until the next change, so
 * a consumer that keeps a list across changes copies it or remembers the version
 * (`versionedListOf(list)` finds the list's log from the array).
 */
import type { Intent } from './contracts.js';

/** Where a list differs from an older version of itself. */
export interface ListChanges {
  /** the length of the older version */
  readonly before: number;
  /** the positions (ascending, below the current length) whose intent is another one now */
  readonly positions: readonly number[];
}

interface LogEntry {
  /** the version this entry made */
  readonly version: number;
  /** the length before it */
  readonly length: number;
  /** the length after it (positions from `length` on were added) */
  readonly after: number;
  /** each position below `length` it changed -> the intent there before */
  readonly old: ReadonlyMap<number, Intent>;
}

/** Positions a log entry holds (the added ones count once each). */
const entrySize = (e: LogEntry): number => e.old.size + Math.max(0, e.after - e.length);

/**
 * The log keeps at least this many changed positions (up to a quarter of the list's length when that
 * is more), and always the newest change (a refused change is reverted from it). A reader older than
 * that takes the whole list, as it would for a change of more than half of it anyway.
 */
const MIN_LOG_POSITIONS = 4096;
/** And at most this many changes (each costs its entry besides its positions: single changes are the most numerous). */
const MAX_LOG_ENTRIES = 4096;

const lists = new WeakMap<readonly Intent[], VersionedList>();

/** The versioned list whose items `list` is, if it is one. */
export function versionedListOf(list: readonly Intent[]): VersionedList | undefined {
  return lists.get(list);
}

export class VersionedList {
  readonly items: Intent[];
  #version = 0;
  /** the log's entries from #first on, oldest first (dropped ones are let go in bulk: no shift per change) */
  #log: (LogEntry | undefined)[] = [];
  #first = 0;
  #logged = 0;
  /** the oldest version changedSince / valuesAt still reach */
  #oldest = 0;
  #open?: { readonly length: number; readonly old: Map<number, Intent> };
  /** the last answer of changedSince (from -> to) */
  #memo?: { readonly from: number; readonly to: number; readonly changes: ListChanges };

  constructor(initial: readonly Intent[] = []) {
    this.items = initial.slice();
    lists.set(this.items, this);
  }

  get version(): number {
    return this.#version;
  }

  get length(): number {
    return this.items.length;
  }

  /** Starts recording one change (a new version at `end`). */
  begin(): void {
    this.#open ??= { length: this.items.length, old: new Map() };
  }

  #record(at: number): void {
    const open = this.#open;
    if (!open) throw new Error('VersionedList: change outside begin()/end()');
    if (at < open.length && !open.old.has(at)) open.old.set(at, this.items[at]);
  }

  set(at: number, intent: Intent): void {
    this.#record(at);
    this.items[at] = intent;
  }

  /**
   * Sets a position below the length the change began with, unless the change set it already
   * (false, and nothing changes): a change that only replaces and appends sets each such position
   * once per key, so a second time means a key listed twice.
   */
  setOnce(at: number, intent: Intent): boolean {
    const open = this.#open;
    if (!open) throw new Error('VersionedList: change outside begin()/end()');
    if (at < open.length) {
      if (open.old.has(at)) return false;
      open.old.set(at, this.items[at]!);
    }
    this.items[at] = intent;
    return true;
  }

  push(intent: Intent): void {
    this.set(this.items.length, intent);
  }

  pop(): void {
    this.#record(this.items.length - 1);
    this.items.pop();
  }

  /** Ends the change: a new version when anything changed. Returns the current version. */
  end(): number {
    const open = this.#open;
    this.#open = undefined;
    if (!open) return this.#version;
    let changed = open.length !== this.items.length;
    if (!changed) {
      for (const [at, was] of open.old) {
        if (this.items[at] === was) continue;
        changed = true;
        break;
      }
    }
    if (!changed) return this.#version;
    this.#version++;
    this.#memo = undefined;
    const entry: LogEntry = { version: this.#version, length: open.length, after: this.items.length, old: open.old };
    this.#log.push(entry);
    this.#logged += entrySize(entry);
    // the log holds the intents it replaced: a quarter of the list at most (besides the newest change)
    const limit = Math.max(MIN_LOG_POSITIONS, this.items.length >> 2);
    while ((this.#logged > limit || this.#log.length - this.#first > MAX_LOG_ENTRIES) && this.#log.length - this.#first > 1) {
      const dropped = this.#log[this.#first]!;
      this.#log[this.#first++] = undefined; // its intents are let go now
      this.#logged -= entrySize(dropped);
      this.#oldest = dropped.version;
    }
    if (this.#first >= 1024 && this.#first * 2 >= this.#log.length) {
      this.#log = this.#log.slice(this.#first);
      this.#first = 0;
    }
    return this.#version;
  }

  /** Entries after `version`, oldest first (undefined: the log no longer reaches it). */
  #since(version: number): LogEntry[] | undefined {
    if (version < this.#oldest || version > this.#version) return undefined;
    let from = this.#log.length;
    while (from > this.#first && this.#log[from - 1]!.version > version) from--;
    return this.#log.slice(from) as LogEntry[];
  }

  /** What changed since `version` (undefined: too old for the log). */
  changedSince(version: number): ListChanges | undefined {
    // asked twice per apply for the same versions (the plugin's changes, then its thread's patch)
    const memo = this.#memo;
    if (memo?.from === version && memo.to === this.#version && this.#open === undefined) return memo.changes;
    const changes = this.#changedSince(version);
    if (changes) this.#memo = { from: version, to: this.#version, changes };
    return changes;
  }

  #changedSince(version: number): ListChanges | undefined {
    const entries = this.#since(version);
    if (!entries) return undefined;
    if (entries.length === 0) return { before: this.items.length, positions: [] };
    const length = this.items.length;
    let total = 0;
    for (const e of entries) total += entrySize(e);
    if (total <= 1024) {
      const few = new Set<number>();
      for (const e of entries) {
        for (const at of e.old.keys()) if (at < length) few.add(at);
        for (let at = e.length; at < Math.min(e.after, length); at++) few.add(at);
      }
      return { before: entries[0].length, positions: [...few].sort((a, b) => a - b) };
    }
    const seen = new Uint8Array(length);
    for (const e of entries) {
      for (const at of e.old.keys()) if (at < length) seen[at] = 1;
      seen.fill(1, Math.min(e.length, length), Math.min(e.after, length));
    }
    const positions: number[] = [];
    for (let at = seen.indexOf(1); at >= 0 && at < length; at = seen.indexOf(1, at + 1)) positions.push(at);
    return { before: entries[0].length, positions };
  }

  /** A copy of the list as it was at `version` (undefined: too old for the log). */
  valuesAt(version: number): Intent[] | undefined {
    const entries = this.#since(version);
    if (!entries) return undefined;
    const copy = this.items.slice();
    for (let i = entries.length - 1; i >= 0; i--) {
      copy.length = Math.max(copy.length, entries[i].after);
      for (const [at, was] of entries[i].old) copy[at] = was;
      copy.length = entries[i].length;
    }
    return copy;
  }

  /**
   * Makes the list what it was at `version` again, as a new version (undefined: too old for the log):
   * the log's entries undone in place, newest first, touching only what they changed.
   */
  revertTo(version: number): number | undefined {
    const entries = this.#since(version);
    if (!entries) return undefined;
    this.begin();
    for (let i = entries.length - 1; i >= 0; i--) {
      const { length, after, old } = entries[i];
      for (let at = this.items.length; at < length; at++) this.push(old.get(at)!); // what it removed
      for (const [at, was] of old) if (at < after) this.set(at, was);
      while (this.items.length > length) this.pop(); // what it added
    }
    return this.end();
  }
}
