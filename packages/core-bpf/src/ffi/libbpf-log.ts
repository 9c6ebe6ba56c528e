/**
 * Routes libbpf's own messages (warnings and info) into core-bpf: while a capture is active the lines
 * are collected so an error can say *why* libbpf failed; otherwise they go to the listeners registered
 * with `onLibbpfLog`, and are dropped when there are none. The print hook is installed on first use.
 */
import { koffi, libbpfLib } from './lib.js';
import { libcRaw } from './libc.js';

export type LibbpfLogLevel = 'warn' | 'info' | 'debug';
export type LibbpfLogListener = (level: LibbpfLogLevel, message: string) => void;

const levels: LibbpfLogLevel[] = ['warn', 'info', 'debug'];
const listeners = new Set<LibbpfLogListener>();
const captures: string[][] = [];
let installed = false;
let line: Buffer | undefined;

function install(): void {
  if (installed) return;
  const proto = koffi.proto('int bpfsteer_libbpf_print_fn(int level, void *fmt, void *args)');
  // declared here rather than in libbpf-api.ts: its signature needs the callback type just above
  const setPrint = libbpfLib().func('void *libbpf_set_print(bpfsteer_libbpf_print_fn *fn)');
  const callback = koffi.register((level: number, fmt: bigint, args: bigint): number => {
    try {
      if (level > 1 && listeners.size === 0) return 0; // debug lines only when someone listens
      if (captures.length === 0 && listeners.size === 0) return 0;
      line ??= Buffer.alloc(8192);
      const n = libcRaw.vsnprintf(line, line.length, fmt, args);
      if (n < 0) return 0;
      const text = line.toString('utf8', 0, Math.min(n, line.length - 1)).replace(/^libbpf: /, '').trimEnd();
      if (level <= 1) for (const capture of captures) capture.push(text);
      const name = levels[level] ?? 'debug';
      for (const listener of listeners) listener(name, text);
    } catch {
      // never throw into C
    }
    return 0;
  }, koffi.pointer(proto));
  setPrint(callback);
  installed = true;
}

/** Run `fn` while collecting libbpf's warning/info lines; the lines are returned (or attached on throw). */
export function captureLibbpfLog<T>(fn: () => T): { result: T; lines: string[] } {
  install();
  const lines: string[] = [];
  captures.push(lines);
  try {
    return { result: fn(), lines };
  } finally {
    captures.splice(captures.lastIndexOf(lines), 1);
  }
}

/** Start collecting libbpf lines; call the returned function to stop and get them. */
export function startLibbpfCapture(): () => string[] {
  install();
  const lines: string[] = [];
  captures.push(lines);
  return () => {
    const at = captures.lastIndexOf(lines);
    if (at >= 0) captures.splice(at, 1);
    return lines;
  };
}

/**
 * Receive libbpf's messages (for the application's logger). Returns a function that unsubscribes.
 * Debug-level lines are only produced while at least one listener is registered.
 */
export function onLibbpfLog(listener: LibbpfLogListener): () => void {
  install();
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
