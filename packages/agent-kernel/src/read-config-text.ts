/**
 * Reading a config file's text with guards (readRegularFile): only a regular file (symlinks
 * followed) of at most MAX_CONFIG_BYTES, and opening never blocks.
 */
import type { Stats } from 'node:fs';
import { ConfigError, errorMessage } from './errors.js';
import { FileReadError, readRegularFile } from './read-regular-file.js';

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

/** Reads a config file's text; refuses (ConfigError) what is not a regular file or is too large. */
export async function readConfigText(path: string, limit = MAX_CONFIG_BYTES): Promise<string> {
  try {
    return await readRegularFile(path, limit);
  } catch (err) {
    if (!(err instanceof FileReadError)) throw refuse(path, `cannot read the file: ${errorMessage(err)}`, err);
    switch (err.problem) {
      case 'not-regular':
        throw refuse(path, `cannot read the file: it is ${fileTypeName(err.info!)}, not a regular file`, err.cause);
      case 'too-large':
        throw refuse(path, `the file is too large (${err.size}); a config file may have at most ${formatLimit(limit)}`);
      default:
        throw refuse(path, `cannot read the file: ${errorMessage(err.cause ?? err)}`, err.cause ?? err);
    }
  }
}
