/**
 * JSON.parse of a large text in slices that yield to the event loop: `JSON.parse` of a 16 MB batch
 * (100,000 rules) is one ~200 ms step during which the agent answers nothing. The text may come as
 * the chunks it arrived in (never joined into one 16 MB string: allocating and decoding that is a
 * step of its own). It is scanned once (strings and nesting tracked) for the commas of its outer
 * container and of the containers one level in; each small piece (a group of array elements, a
 * member value) is given to JSON.parse, pausing between pieces.
 *
 * The result is exactly JSON.parse's. Anything the split does not handle (a text that is not one
 * object or array, a piece JSON.parse refuses) is parsed whole by `whole`, which throws JSON.parse's
 * own error (with its position): a malformed text costs one whole parse, a valid one never does.
 */
import type { TimeSlicer } from '@bpfsteer/agent-kernel';

/** Texts up to this length are parsed whole (one step of ~3 ms at most). */
export const SLICE_PARSE_MIN = 256 * 1024;

/** Where the text is cut: `whole` and `piece` are lengths in characters. */
export interface SliceSizes {
  /** texts up to this length are parsed in one step */
  readonly whole: number;
  /** about how many characters one JSON.parse step takes (~1 ms for 64 KiB) */
  readonly piece: number;
}

const DEFAULT_SIZES: SliceSizes = { whole: SLICE_PARSE_MIN, piece: 64 * 1024 };
/** Characters scanned between two checks of the slice's budget. */
const SCAN_STEP = 1 << 16;

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;

/** The piece cannot be split or parsed: the whole text is parsed instead (for JSON.parse's error). */
class NotSplit extends Error {}

/** A text held as the chunks it arrived in, read by position as if it were one string. */
class ChunkedText {
  readonly chunks: readonly string[];
  /** the position of each chunk's first character */
  readonly #starts: number[] = [];
  readonly length: number;
  #last = 0; // the chunk read last (reads are mostly near each other)

  constructor(chunks: readonly string[]) {
    this.chunks = chunks;
    let length = 0;
    for (const chunk of chunks) {
      this.#starts.push(length);
      length += chunk.length;
    }
    this.length = length;
  }

  /** The index of the chunk holding position `at` (0 <= at < length). */
  #chunkOf(at: number): number {
    const starts = this.#starts;
    let k = this.#last;
    if (at >= starts[k] && at < starts[k] + this.chunks[k].length) return k;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (starts[mid] <= at) low = mid;
      else high = mid - 1;
    }
    k = low;
    while (this.chunks[k].length === 0 && k < starts.length - 1) k++;
    this.#last = k;
    return k;
  }

  charCodeAt(at: number): number {
    if (at < 0 || at >= this.length) return NaN;
    const k = this.#chunkOf(at);
    return this.chunks[k].charCodeAt(at - this.#starts[k]);
  }

  slice(from: number, to: number): string {
    if (from >= to) return '';
    const first = this.#chunkOf(from);
    const last = this.#chunkOf(to - 1);
    if (first === last) return this.chunks[first].slice(from - this.#starts[first], to - this.#starts[first]);
    const parts = [this.chunks[first].slice(from - this.#starts[first])];
    for (let k = first + 1; k < last; k++) parts.push(this.chunks[k]);
    parts.push(this.chunks[last].slice(0, to - this.#starts[last]));
    return parts.join('');
  }

  /** The start of chunk `k`. */
  startOf(k: number): number {
    return this.#starts[k];
  }
}

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** [start, end) without JSON white space at either end. */
function trimmed(text: ChunkedText, start: number, end: number): [number, number] {
  while (start < end && isJsonSpace(text.charCodeAt(start))) start++;
  while (end > start && isJsonSpace(text.charCodeAt(end - 1))) end--;
  return [start, end];
}

function parsePiece(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new NotSplit();
  }
}

/** The commas inside the outer container (depth 1) and inside the containers it holds (depth 2). */
interface Outline {
  readonly depth1: readonly number[];
  readonly depth2: readonly number[];
}

/**
 * One scan of the container text[start] opens, which must close at text[end - 1] (else NotSplit):
 * where its commas are, and those of the containers directly inside it.
 */
async function outline(text: ChunkedText, start: number, end: number, slicer: TimeSlicer): Promise<Outline> {
  const depth1: number[] = [];
  const depth2: number[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scanned = 0;
  for (let k = 0; k < text.chunks.length; k++) {
    const chunk = text.chunks[k];
    const base = text.startOf(k);
    if (base + chunk.length <= start) continue;
    if (base >= end) break;
    const last = Math.min(chunk.length, end - base);
    for (let i = Math.max(0, start - base); i < last; i++) {
      if (++scanned === SCAN_STEP) {
        scanned = 0;
        await slicer.pause();
      }
      const c = chunk.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === COMMA) {
        if (depth === 1) depth1.push(base + i);
        else if (depth === 2) depth2.push(base + i);
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
      else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (--depth === 0 && base + i !== end - 1) throw new NotSplit();
      }
    }
  }
  if (depth !== 0 || inString) throw new NotSplit();
  return { depth1, depth2 };
}

/** The first index of the sorted `positions` at or after `at`. */
function lowerBound(positions: readonly number[], at: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (positions[mid] < at) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The container text[start, end) whose top-level commas are `commas`; `inner` (when given) holds
 * the commas of the containers directly inside it, which are split too when large.
 */
async function parseContainer(
  text: ChunkedText,
  start: number,
  end: number,
  commas: readonly number[],
  slicer: TimeSlicer,
  piece: number,
  inner?: readonly number[],
): Promise<unknown> {
  const array = text.charCodeAt(start) === OPEN_ARRAY;
  const [innerStart, innerEnd] = trimmed(text, start + 1, end - 1);
  if (innerStart === innerEnd) {
    if (commas.length) throw new NotSplit();
    return array ? [] : {};
  }
  return array ? parseElements(text, start, end, commas, slicer, piece) : parseMembers(text, start, end, commas, slicer, piece, inner);
}

/** An array's elements, parsed in groups of about `piece` characters. */
async function parseElements(text: ChunkedText, start: number, end: number, commas: readonly number[], slicer: TimeSlicer, piece: number): Promise<unknown[]> {
  const out: unknown[] = [];
  let from = start + 1; // the first element of the next group
  for (let k = 0; k <= commas.length; k++) {
    const to = k < commas.length ? commas[k] : end - 1; // the end of element k
    if (to - from < piece && k < commas.length) continue;
    await slicer.pause();
    const [s, e] = trimmed(text, from, to);
    if (s === e) throw new NotSplit(); // an empty element: JSON.parse names it
    const group = parsePiece(`[${text.slice(s, e)}]`) as unknown[];
    for (let i = 0; i < group.length; i++) out.push(group[i]);
    from = to + 1;
  }
  return out;
}

/** An object's members, each value parsed (a large container split further when `inner` is given). */
async function parseMembers(
  text: ChunkedText,
  start: number,
  end: number,
  commas: readonly number[],
  slicer: TimeSlicer,
  piece: number,
  inner: readonly number[] | undefined,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let from = start + 1;
  for (let k = 0; k <= commas.length; k++) {
    const to = k < commas.length ? commas[k] : end - 1;
    const [s, e] = trimmed(text, from, to);
    if (text.charCodeAt(s) !== QUOTE) throw new NotSplit();
    let keyEnd = s + 1; // the closing quote of the key
    while (keyEnd < e && text.charCodeAt(keyEnd) !== QUOTE) keyEnd += text.charCodeAt(keyEnd) === BACKSLASH ? 2 : 1;
    const key = parsePiece(text.slice(s, keyEnd + 1)) as string;
    const [colon, valueEnd] = trimmed(text, keyEnd + 1, e);
    if (text.charCodeAt(colon) !== 58) throw new NotSplit();
    const [valueStart] = trimmed(text, colon + 1, valueEnd);
    if (valueStart === valueEnd) throw new NotSplit();
    let value: unknown;
    const c = text.charCodeAt(valueStart);
    if (inner !== undefined && valueEnd - valueStart > piece && (c === OPEN_ARRAY || c === OPEN_OBJECT)) {
      const own = inner.slice(lowerBound(inner, valueStart), lowerBound(inner, valueEnd));
      value = await parseContainer(text, valueStart, valueEnd, own, slicer, piece);
    } else {
      await slicer.pause();
      value = parsePiece(text.slice(valueStart, valueEnd));
    }
    // a property of its own, like JSON.parse makes it, whatever the key ("__proto__" included)
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    from = to + 1;
  }
  return out;
}

/**
 * JSON.parse of `text` (a string, or the chunks it came in, in order) in slices of `slicer`'s
 * budget (texts up to `sizes.whole` in one step); a text JSON.parse refuses is handed to `whole`
 * (default JSON.parse), joined, which throws its error.
 */
export async function parseJsonInSlices(
  text: string | readonly string[],
  slicer: TimeSlicer,
  whole: (text: string) => unknown = JSON.parse,
  sizes: SliceSizes = DEFAULT_SIZES,
): Promise<unknown> {
  const joined = (): string => (typeof text === 'string' ? text : text.join(''));
  const length = typeof text === 'string' ? text.length : text.reduce((n, chunk) => n + chunk.length, 0);
  if (length <= sizes.whole) return whole(joined()); // the usual small text: no outline to build
  const chunked = new ChunkedText(typeof text === 'string' ? [text] : text);
  const [start, end] = trimmed(chunked, 0, chunked.length);
  const c = chunked.charCodeAt(start);
  if (c !== OPEN_ARRAY && c !== OPEN_OBJECT) return whole(joined());
  try {
    const { depth1, depth2 } = await outline(chunked, start, end, slicer);
    return await parseContainer(chunked, start, end, depth1, slicer, sizes.piece, depth2);
  } catch (err) {
    if (!(err instanceof NotSplit)) throw err;
    return whole(joined());
  }
}
