/** struct sockaddr_un for a filesystem path (pure; table-tested). */
import { C } from './ffi/libc.js';
import { SOCKADDR_UN } from './ffi/socket-constants.js';
import { InvalidArgumentError } from './errors.js';

/** Checks a unix socket path: non-empty, no NUL byte, shorter than sun_path (108 bytes). */
export function validateUnixPath(path: unknown, what = 'unix socket path'): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(path)}: expected a non-empty filesystem path`);
  }
  if (path.includes('\0')) throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(path)}: it contains a NUL byte`);
  const bytes = Buffer.byteLength(path);
  if (bytes >= SOCKADDR_UN.pathMax) {
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(path)}: ${bytes} bytes, at most ${SOCKADDR_UN.pathMax - 1} fit in sun_path`);
  }
  return path;
}

/** sockaddr_un { AF_UNIX, path NUL-terminated }, and the length to pass with it. */
export function encodeUnixAddress(path: string): { addr: Buffer; length: number } {
  validateUnixPath(path);
  const addr = Buffer.alloc(SOCKADDR_UN.size);
  addr.writeUInt16LE(C.AF_UNIX, 0);
  const n = addr.write(path, SOCKADDR_UN.pathOffset, 'utf8');
  return { addr, length: SOCKADDR_UN.pathOffset + n + 1 };
}
