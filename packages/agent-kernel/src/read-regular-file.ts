/**
 * Reading a local file's text with guards, for the agent's config and for sources' own files: only a
 * regular file (symlinks followed) is read, never more than `maxBytes` plus one byte, and opening
 * never blocks (a FIFO is opened non-blocking and refused). The caller words the refusal.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { AgentError } from './errors.js';
import { TimeSlicer } from './time-slicer.js';

/** Why a file was not read: it does not exist, is not a regular file, is larger than allowed, or reading failed. */
export type FileReadProblem = 'missing' | 'not-regular' | 'too-large' | 'unreadable';

export class FileReadError extends AgentError {
  readonly problem: FileReadProblem;
  /** what is at the path (for 'not-regular') */
  readonly info?: Stats;
  /** the size seen, e.g. "20971520 bytes" or "more than 64 bytes" (for 'too-large') */
  readonly size?: string;
  constructor(problem: FileReadProblem, message: string, details: { info?: Stats; size?: string; cause?: unknown } = {}) {
    super('ERR_FILE_READ', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.problem = problem;
    if (details.info) this.info = details.info;
    if (details.size !== undefined) this.size = details.size;
  }
}

async function openNonBlocking(path: string): Promise<FileHandle> {
  try {
    // O_NONBLOCK: opening a FIFO without a writer returns at once (and it is refused below)
    return await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileReadError('missing', (err as Error).message, { cause: err });
    if (code === 'ENXIO') {
      // a unix socket (or a device without its driver) cannot be opened: say what it is
      const info = await stat(path).catch(() => undefined);
      if (info && !info.isFile()) throw new FileReadError('not-regular', 'not a regular file', { info, cause: err });
    }
    throw new FileReadError('unreadable', (err as Error).message, { cause: err });
  }
}

/** Decoded in pieces of this size, the loop breathing between them (a 16 MB state file is ~75 ms in one go). */
const DECODE_PIECE = 1 << 20;

/**
 * The text of `bytes` as pieces of about DECODE_PIECE bytes each, cut between characters. Kept as
 * pieces: joined, the first read of the text flattens it, one more ~45 ms step for a 16 MB file.
 */
async function decodeInSlices(bytes: Buffer): Promise<string[]> {
  if (bytes.length <= DECODE_PIECE) return [bytes.toString('utf8')];
  const slicer = new TimeSlicer();
  const pieces: string[] = [];
  for (let at = 0; at < bytes.length; ) {
    await slicer.pause();
    let end = Math.min(bytes.length, at + DECODE_PIECE);
    // never cut a UTF-8 sequence: back to the byte that starts the character at the cut (at most 3
    // continuation bytes follow one; more is not UTF-8, decoded as U+FFFD wherever it is cut)
    for (let back = 0; back < 3 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80; back++) end--;
    pieces.push(bytes.toString('utf8', at, end));
    at = end;
  }
  return pieces;
}

/** The file's text as pieces (see readRegularFile), for readers that take their text in pieces. */
export async function readRegularFilePieces(path: string, maxBytes = Number.MAX_SAFE_INTEGER - 1): Promise<string[]> {
  const file = await openNonBlocking(path);
  try {
    const info = await file.stat();
    if (!info.isFile()) throw new FileReadError('not-regular', 'not a regular file', { info });
    if (info.size > maxBytes) throw new FileReadError('too-large', 'too large', { size: `${info.size} bytes` });
    // a file may say less than it holds (procfs, a file still growing): never read past maxBytes + 1
    let buffer = Buffer.alloc(Math.min(maxBytes + 1, Math.max(info.size + 1, 64 * 1024)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) break;
        const next = Buffer.alloc(Math.min(maxBytes + 1, length * 2));
        buffer.copy(next, 0, 0, length);
        buffer = next;
      }
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw new FileReadError('too-large', 'too large', { size: `more than ${maxBytes} bytes` });
    return await decodeInSlices(buffer.subarray(0, length));
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    throw new FileReadError('unreadable', (err as Error).message, { cause: err });
  } finally {
    await file.close();
  }
}

/** The file's text (a large one decoded in slices); FileReadError saying why not. */
export async function readRegularFile(path: string, maxBytes = Number.MAX_SAFE_INTEGER - 1): Promise<string> {
  const pieces = await readRegularFilePieces(path, maxBytes);
  return pieces.length === 1 ? pieces[0]! : pieces.join('');
}
