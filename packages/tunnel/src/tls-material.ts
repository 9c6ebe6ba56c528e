/**
 * The node's TLS material read from its files, and read again when one of them changes (checked by
 * modification time and size every `checkMs`: a Kubernetes Secret update swaps a symlink, which
 * fs.watch on the file misses). A file that cannot be read keeps the last good material (logged).
 */
import { readFileSync, statSync } from 'node:fs';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

const signature = (files: TlsFiles): string =>
  [files.certFile, files.keyFile, files.caFile]
    .map((f) => {
      const s = statSync(f);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    })
    .join('|');

export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), ca: readFileSync(files.caFile) };
}

/** Calls `changed` with the new material after a file changed; returns the function that stops watching. */
export function watchTlsMaterial(files: TlsFiles, checkMs: number, changed: (m: TlsMaterial) => void, failed: (err: unknown) => void): () => void {
  let seen = signature(files);
  const timer = setInterval(() => {
    try {
      const now = signature(files);
      if (now === seen) return;
      const material = readTlsMaterial(files);
      seen = now;
      changed(material);
    } catch (err) {
      failed(err);
    }
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
