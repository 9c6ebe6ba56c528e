/**
 * JSON.parse of a large text in slices that yield to the event loop: `JSON.parse` of a 16 MB batch
 * (100,000 rules) is one ~150 ms step during which the agent answers nothing. The text may come as
 * the chunks it arrived in (never joined into one 16 MB string: allocating and decoding that is a
 * step of its own). An array is parsed as groups of its elements (one JSON.parse per piece of
 * about `piece` characters, a pause between pieces); an object member by member, the value of a
 * member that is a container split the same way (one level in).
 *
 * Finding where a group of elements ends costs almost nothing on the usual texts: once a scan has
 * found one comma between two elements, the characters around it (`},{` say) are searched for
 * with indexOf past the next `piece` characters, and the piece up to the guess is handed to
 * JSON.parse as `[piece]`. A wrong guess (a comma inside a string or a nested container) cannot
 * parse: the piece would end inside that string or container. A guess that parses is a list of
 * whole elements followed by a comma of the array itself, so the pieces, joined with their commas,
 * are the array's text and their elements are JSON.parse's. After a wrong guess (or when no guess
 * is near) the piece is found by scanning the characters (strings skipped with indexOf): exact,
 * and still several times faster than a character-by-character outline of the whole text.
 *
 * The result is exactly JSON.parse's. Anything the split does not handle (a text that is not one
 * object or array, a piece JSON.parse refuses after an exact scan) is parsed whole by `whole`,
 * which throws JSON.parse's own error (with its position): a malformed text costs one whole parse,
 * a valid one never does.
 */
import type { TimeSlicer } from '@bpfsteer/agent-kernel';

/** Texts up to this length are parsed whole (one step of ~3 ms at most). */
export const SLICE_PARSE_MIN = 256 * 1024;

/** Where the text is cut: `whole` and `piece` are lengths in characters. */
export interface SliceSizes {
  /** texts up to this length are parsed in one step */
  readonly whole: number;
  /** about how many characters one JSON.parse step takes (~0.5-1 ms for 64 KiB; larger pieces parse no faster) */
  readonly piece: number;
}

const DEFAULT_SIZES: SliceSizes = { whole: SLICE_PARSE_MIN, piece: 64 * 1024 };
/** Characters scanned between two checks of the slice's budget. */
const SCAN_STEP = 1 << 16;
/** Wrong guesses after which only exact scans find the pieces (a text whose guesses keep failing). */
const MAX_MISSES = 4;
/** The longest separator learnt (the characters around a comma between two elements). */
const MAX_SEPARATOR = 32;

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;

/** The piece cannot be split or parsed: the whole text is parsed instead (for JSON.parse's error). */
class NotSplit extends Error {}

/**
 * What is made of each group of an array's elements as soon as it is parsed (the array of a
 * member of the top object, named by `member`; undefined for a top array): the elements it returns
 * take the group's place. A caller that checks and converts a large body this way lets the raw
 * elements die young instead of holding all of them until the whole text is parsed. It may throw
 * (the parse then rejects with that error).
 */
export type GroupConverter = (group: unknown[], member: string | undefined) => unknown[];

/** A text held as the chunks it arrived in, read by position as if it were one string. */
class ChunkedText {
  readonly chunks: readonly string[];
  /** the position of each chunk's first character */
  readonly #starts: number[] = [];
  readonly length: number;
  #last = 0; // the chunk read last (reads are mostly near each other)

  constructor(chunks: readonly string[]) {
    this.chunks = chunks.filter((chunk) => chunk.length > 0);
    let length = 0;
    for (const chunk of this.chunks) {
      this.#starts.push(length);
      length += chunk.length;
    }
    this.length = length;
  }

  /** The index of the chunk holding position `at` (0 <= at < length). */
  chunkOf(at: number): number {
    const starts = this.#starts;
    const k = this.#last;
    if (at >= starts[k] && at < starts[k] + this.chunks[k].length) return k;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (starts[mid] <= at) low = mid;
      else high = mid - 1;
    }
    this.#last = low;
    return low;
  }

  /** The start of chunk `k`. */
  startOf(k: number): number {
    return this.#starts[k];
  }

  charCodeAt(at: number): number {
    if (at < 0 || at >= this.length) return NaN;
    const k = this.chunkOf(at);
    return this.chunks[k].charCodeAt(at - this.#starts[k]);
  }

  slice(from: number, to: number): string {
    if (from >= to) return '';
    const first = this.chunkOf(from);
    const last = this.chunkOf(to - 1);
    if (first === last) return this.chunks[first].slice(from - this.#starts[first], to - this.#starts[first]);
    const parts = [this.chunks[first].slice(from - this.#starts[first])];
    for (let k = first + 1; k < last; k++) parts.push(this.chunks[k]);
    parts.push(this.chunks[last].slice(0, to - this.#starts[last]));
    return parts.join('');
  }

  /** The first position >= from where `needle` starts and ends before `limit`; -1 if none. */
  indexOf(needle: string, from: number, limit: number): number {
    limit = Math.min(limit, this.length);
    if (from >= limit) return -1;
    for (let k = this.chunkOf(from); k < this.chunks.length; k++) {
      const chunk = this.chunks[k];
      const base = this.#starts[k];
      if (base >= limit) return -1;
      const local = Math.max(0, from - base);
      const found = chunk.indexOf(needle, local);
      if (found >= 0) return base + found + needle.length <= limit ? base + found : -1;
      // a needle cut between this chunk and the next ones
      const tail = Math.max(local, chunk.length - needle.length + 1);
      if (k + 1 < this.chunks.length && tail < chunk.length) {
        const seam = this.slice(base + tail, Math.min(this.length, base + chunk.length + needle.length - 1));
        const at = seam.indexOf(needle);
        if (at >= 0) return base + tail + at + needle.length <= limit ? base + tail + at : -1;
      }
      if (base + chunk.length >= limit) return -1;
    }
    return -1;
  }
}

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function skipSpace(text: ChunkedText, at: number): number {
  while (at < text.length && isJsonSpace(text.charCodeAt(at))) at++;
  return at;
}

function parsePiece(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new NotSplit();
  }
}

/** Where a scan is: the nesting depth relative to its start, and whether inside a string. */
interface ScanState {
  depth: number;
  inString: boolean;
  /** the chunk ended after a backslash inside a string: the next character is escaped */
  escaped: boolean;
  /** where the scan of a chunk goes on (set by scanChunk when it found no stop) */
  next: number;
}

/**
 * Scans chunk[i, end) (a string skip may run past `end`) from `s`. Stops at, and returns the
 * index of: a bracket that takes the depth to 0, a comma at depth 1 at or after `commaFrom`, or
 * the closing quote of a string at depth 0. Returns -1 (and `s.next`) when none comes first.
 */
function scanChunk(chunk: string, i: number, end: number, s: ScanState, commaFrom: number): number {
  let depth = s.depth;
  let inString = s.inString;
  if (s.escaped && i < chunk.length) {
    s.escaped = false;
    i++;
  }
  while (i < end) {
    if (inString) {
      const quote = chunk.indexOf('"', i);
      if (quote < 0) {
        // the string goes on in the next chunk; a trailing odd run of backslashes escapes its first character
        let run = 0;
        for (let b = chunk.length - 1; b >= i && chunk.charCodeAt(b) === BACKSLASH; b--) run++;
        s.escaped = (run & 1) === 1;
        i = chunk.length;
        break;
      }
      let run = 0;
      for (let b = quote - 1; b >= i && chunk.charCodeAt(b) === BACKSLASH; b--) run++;
      i = quote + 1;
      if ((run & 1) === 1) continue; // an escaped quote
      inString = false;
      if (depth === 0) {
        s.depth = depth;
        s.inString = false;
        return quote;
      }
      continue;
    }
    const c = chunk.charCodeAt(i);
    if (c === QUOTE) inString = true;
    else if (c === COMMA) {
      if (depth === 1 && i >= commaFrom) {
        s.depth = depth;
        s.inString = false;
        return i;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (--depth <= 0) {
        s.depth = depth;
        s.inString = false;
        return i;
      }
    }
    i++;
  }
  s.depth = depth;
  s.inString = inString;
  s.next = i;
  return -1;
}

/** scanChunk over the chunks from `from`, pausing every SCAN_STEP characters; NotSplit when the text ends first. */
async function scan(text: ChunkedText, from: number, s: ScanState, commaFrom: number, slicer: TimeSlicer): Promise<number> {
  if (from >= text.length) throw new NotSplit();
  for (let k = text.chunkOf(from); k < text.chunks.length; k++) {
    const chunk = text.chunks[k];
    const base = text.startOf(k);
    let i = Math.max(0, from - base);
    while (i < chunk.length) {
      const stop = scanChunk(chunk, i, Math.min(chunk.length, i + SCAN_STEP), s, commaFrom - base);
      if (stop >= 0) return base + stop;
      i = s.next;
      await slicer.pause();
    }
  }
  throw new NotSplit();
}

/** The end (exclusive) of the value starting at `at`: a container, a string, or a number/literal. */
async function valueEnd(text: ChunkedText, at: number, slicer: TimeSlicer): Promise<number> {
  const c = text.charCodeAt(at);
  if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
    return (await scan(text, at + 1, { depth: 1, inString: false, escaped: false, next: 0 }, Infinity, slicer)) + 1;
  }
  if (c === QUOTE) return (await scan(text, at + 1, { depth: 0, inString: true, escaped: false, next: 0 }, Infinity, slicer)) + 1;
  let end = at;
  while (end < text.length) {
    const d = text.charCodeAt(end);
    if (d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || isJsonSpace(d)) break;
    end++;
  }
  return end;
}

/** A parsed container and the index of its closing bracket. */
interface Parsed {
  readonly value: unknown;
  readonly close: number;
}

/** Splits and parses; learns the separator between elements. */
class SlicedParser {
  readonly #text: ChunkedText;
  readonly #slicer: TimeSlicer;
  readonly #piece: number;
  readonly #convert: GroupConverter | undefined;
  /** the characters around a comma between two elements (`},{`), and the comma's offset in them */
  #separator?: { readonly text: string; readonly comma: number };
  #misses = 0;

  constructor(text: ChunkedText, slicer: TimeSlicer, sizes: SliceSizes, convert?: GroupConverter) {
    this.#text = text;
    this.#slicer = slicer;
    this.#piece = sizes.piece;
    this.#convert = convert;
  }

  /**
   * The container opening at `open` (`depth`: how many levels further in containers are split
   * too; `member`: the key it is the value of, in the top object).
   */
  container(open: number, depth: number, member?: string): Promise<Parsed> {
    return this.#text.charCodeAt(open) === OPEN_ARRAY ? this.#array(open, member) : this.#object(open, depth);
  }

  /** `[piece]` parsed; undefined when it does not parse or holds no element. */
  #elements(from: number, to: number): unknown[] | undefined {
    let group: unknown[];
    try {
      group = JSON.parse(`[${this.#text.slice(from, to)}]`) as unknown[];
    } catch {
      return undefined;
    }
    return group.length > 0 ? group : undefined;
  }

  /** The comma of the learnt separator nearest past `from + piece` (and not much further); -1 if none. */
  #guess(from: number): number {
    const separator = this.#separator;
    if (separator === undefined || this.#misses >= MAX_MISSES) return -1;
    const target = from + this.#piece;
    const at = this.#text.indexOf(separator.text, Math.max(from, target - separator.comma), target + this.#piece);
    return at < 0 ? -1 : at + separator.comma;
  }

  /** Learns the separator around the comma at `comma` between two elements (when brackets or quotes border it). */
  #learn(comma: number, from: number): void {
    const text = this.#text;
    let left = comma - 1;
    while (left > from && isJsonSpace(text.charCodeAt(left))) left--;
    let right = comma + 1;
    while (right < text.length && isJsonSpace(text.charCodeAt(right))) right++;
    const l = text.charCodeAt(left);
    const r = text.charCodeAt(right);
    if (right - left + 1 > MAX_SEPARATOR) return;
    if ((l === CLOSE_OBJECT || l === CLOSE_ARRAY || l === QUOTE) && (r === OPEN_OBJECT || r === OPEN_ARRAY || r === QUOTE)) {
      this.#separator = { text: text.slice(left, right + 1), comma: comma - left };
    }
  }

  async #array(open: number, member: string | undefined): Promise<Parsed> {
    const text = this.#text;
    const out: unknown[] = [];
    let from = skipSpace(text, open + 1); // the first element of the next piece
    if (text.charCodeAt(from) === CLOSE_ARRAY) return { value: out, close: from };
    for (;;) {
      await this.#slicer.pause();
      let stop = this.#guess(from);
      let group = stop < 0 ? undefined : this.#elements(from, stop);
      if (stop >= 0 && group === undefined) this.#misses++;
      if (group === undefined) {
        // exact: the first comma of this array past the piece, or its closing bracket
        stop = await scan(text, from, { depth: 1, inString: false, escaped: false, next: 0 }, from + this.#piece, this.#slicer);
        group = this.#elements(from, stop);
        if (group === undefined) throw new NotSplit(); // an empty or malformed element: JSON.parse names it
        if (this.#separator === undefined && text.charCodeAt(stop) === COMMA) this.#learn(stop, from);
      }
      if (this.#convert !== undefined) group = this.#convert(group, member);
      for (let i = 0; i < group.length; i++) out.push(group[i]);
      if (text.charCodeAt(stop) !== COMMA) {
        if (text.charCodeAt(stop) !== CLOSE_ARRAY) throw new NotSplit();
        return { value: out, close: stop };
      }
      from = stop + 1;
    }
  }

  async #object(open: number, depth: number): Promise<Parsed> {
    const text = this.#text;
    const out: Record<string, unknown> = {};
    let at = skipSpace(text, open + 1);
    if (text.charCodeAt(at) === CLOSE_OBJECT) return { value: out, close: at };
    for (;;) {
      if (text.charCodeAt(at) !== QUOTE) throw new NotSplit();
      const keyEnd = await valueEnd(text, at, this.#slicer);
      const key = parsePiece(text.slice(at, keyEnd)) as string;
      at = skipSpace(text, keyEnd);
      if (text.charCodeAt(at) !== COLON) throw new NotSplit();
      at = skipSpace(text, at + 1);
      const c = text.charCodeAt(at);
      let value: unknown;
      if (depth > 0 && (c === OPEN_ARRAY || c === OPEN_OBJECT)) {
        const inner = await this.container(at, depth - 1, key);
        value = inner.value;
        at = inner.close + 1;
      } else {
        const end = await valueEnd(text, at, this.#slicer);
        await this.#slicer.pause();
        value = parsePiece(text.slice(at, end));
        at = end;
      }
      // a property of its own, like JSON.parse makes it, whatever the key ("__proto__" included)
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      at = skipSpace(text, at);
      const next = text.charCodeAt(at);
      if (next === CLOSE_OBJECT) return { value: out, close: at };
      if (next !== COMMA) throw new NotSplit();
      at = skipSpace(text, at + 1);
    }
  }
}

/**
 * JSON.parse of `text` (a string, or the chunks it came in, in order) in slices of `slicer`'s
 * budget (texts up to `sizes.whole` in one step); a text JSON.parse refuses is handed to `whole`
 * (default JSON.parse), joined, which throws its error. `convert`: see GroupConverter (a text
 * parsed whole is not converted).
 */
export async function parseJsonInSlices(
  text: string | readonly string[],
  slicer: TimeSlicer,
  whole: (text: string) => unknown = JSON.parse,
  sizes: SliceSizes = DEFAULT_SIZES,
  convert?: GroupConverter,
): Promise<unknown> {
  const joined = (): string => (typeof text === 'string' ? text : text.join(''));
  const length = typeof text === 'string' ? text.length : text.reduce((n, chunk) => n + chunk.length, 0);
  if (length <= sizes.whole) return whole(joined()); // the usual small text: parsed in one step
  const chunked = new ChunkedText(typeof text === 'string' ? [text] : text);
  const start = skipSpace(chunked, 0);
  const c = chunked.charCodeAt(start);
  if (c !== OPEN_ARRAY && c !== OPEN_OBJECT) return whole(joined());
  try {
    // the top container and the containers directly in it are split
    const { value, close } = await new SlicedParser(chunked, slicer, sizes, convert).container(start, 1);
    if (skipSpace(chunked, close + 1) !== chunked.length) throw new NotSplit(); // something after the value
    return value;
  } catch (err) {
    if (!(err instanceof NotSplit)) throw err;
    return whole(joined());
  }
}
