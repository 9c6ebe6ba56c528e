/**
 * The two shared libraries bpfsteer talks to, loaded lazily on first use (no work at import time).
 * Only files under src/ffi and the modules of core-bpf may import this; nothing FFI-shaped is exported
 * from the package.
 */
import koffi, { type LibraryHandle } from 'koffi';

type ForeignFunction = ReturnType<LibraryHandle['func']>;

/** A native pointer as koffi passes it (`void *`): a bigint address; NULL arrives as null. */
export type Ptr = bigint;

let libbpf: LibraryHandle | undefined;
let libc: LibraryHandle | undefined;

export function libbpfLib(): LibraryHandle {
  libbpf ??= koffi.load('libbpf.so.1');
  return libbpf;
}

export function libcLib(): LibraryHandle {
  libc ??= koffi.load('libc.so.6');
  return libc;
}

/** Declare a function lazily: the declaration happens on first call. */
export function lazyFn<F extends (...args: any[]) => any>(lib: () => LibraryHandle, signature: string): F {
  let fn: ForeignFunction | undefined;
  return ((...args: unknown[]) => {
    fn ??= lib().func(signature);
    return fn(...args);
  }) as F;
}

/** errno saved by koffi right after the last foreign call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

export { koffi };
