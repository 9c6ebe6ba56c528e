/**
 * Reading a config file's text with guards: only a regular file (symlinks followed) of at most
 * MAX_CONFIG_BYTES is read, never more than that many bytes plus one, and opening never blocks (a
 * FIFO is opened non-blocking and refused).
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { ConfigError, errorMessage } from './errors.js';

/**
 * The largest config file read: 16 MiB. A hand-written config is a few KiB; a static source with
 * tens of thousands of intents fits; a file beyond it is a mistake (or an attack on memory).
 */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** What a non-regular file is, for messages. */
export function fileTypeName(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return info.isFile() ? 'a regular file' : 'not a regular file';
}

function refuse(path: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError([{ path: [], message }], path, cause === undefined ? undefined : { cause });
}

/** "16 MiB (16777216 bytes)", or "64 bytes" for limits below a MiB. */
function formatLimit(bytes: number): string {
  const mebi = 1024 * 1024;
  if (bytes < mebi) return `${bytes} bytes`;
  const amount = bytes % mebi === 0 ? String(bytes / mebi) : (bytes / mebi).toFixed(1);
  return `${amount} MiB (${bytes} bytes)`;
}

async function openConfig(path: string): Promise<FileHandle> {
  try {
    // O_NONBLOCK: opening a FIFO without a writer returns at once (and it is refused below)
    return await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') {
      // a unix socket (or a device without its driver) cannot be opened: say what it is
      const info = await stat(path).catch(() => undefined);
      if (info && !info.isFile()) throw refuse(path, `cannot read the file: it is ${fileTypeName(info)}, not a regular file`, err);
    }
    throw refuse(path, `cannot read the file: ${errorMessage(err)}`, err);
  }
}

/** Reads a config file's text; refuses (ConfigError) what is not a regular file or is too large. */
export async function readConfigText(path: string, limit = MAX_CONFIG_BYTES): Promise<string> {
  const file = await openConfig(path);
  try {
    const info = await file.stat();
    if (!info.isFile()) throw refuse(path, `cannot read the file: it is ${fileTypeName(info)}, not a regular file`);
    const tooLarge = (size: string) =>
      refuse(path, `the file is too large (${size}); a config file may have at most ${formatLimit(limit)}`);
    if (info.size > limit) throw tooLarge(`${info.size} bytes`);
    // a file may say less than it holds (procfs, a file still growing): never read past limit + 1
    let buffer = Buffer.alloc(Math.min(limit + 1, Math.max(info.size + 1, 64 * 1024)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) break;
        const next = Buffer.alloc(Math.min(limit + 1, length * 2));
        buffer.copy(next, 0, 0, length);
        buffer = next;
      }
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) throw tooLarge(`more than ${limit} bytes`);
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw refuse(path, `cannot read the file: ${errorMessage(err)}`, err);
  } finally {
    await file.close();
  }
}
