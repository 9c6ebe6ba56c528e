/**
 * A debug aid, off unless `BPFSTEER_DEBUG_MEMORY` is set: what the agent's memory is made of, logged
 * once the agent runs (`1`) and then every N ms when the value is a number of at least 1000. It
 * tells apart what a leaner build or different V8 flags could change: the process's resident set
 * split into anonymous memory (V8 heaps of every thread, malloc, stacks) and file pages (mostly the
 * node binary's code, shared and clean), and this thread's V8 heap by space. The plugins' threads
 * have heaps of their own: anonymous memory minus this thread's heap is their heaps plus native
 * allocations (koffi, libbpf, Buffers).
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

/** What the report is computed from (see sampleMemory); bytes except `procStatus`. */
export interface MemorySample {
  /** the text of /proc/self/status, or '' where there is none */
  readonly procStatus: string;
  readonly usage: NodeJS.MemoryUsage;
  readonly heap: { readonly total_physical_size: number; readonly used_heap_size: number; readonly malloced_memory: number };
  readonly spaces: readonly { readonly space_name: string; readonly physical_space_size: number }[];
}

/** Figures in MiB (one decimal); `threads` is the process's thread count. */
export interface MemoryReport {
  readonly rss: number;
  /** anonymous resident memory (every V8 heap, malloc, stacks) */
  readonly rssAnon?: number;
  /** resident file pages (the node binary, shared libraries) */
  readonly rssFile?: number;
  readonly threads?: number;
  /** this thread's V8 heap: resident, of it in use, and resident by space */
  readonly heapPhysical: number;
  readonly heapUsed: number;
  readonly heapSpaces: Readonly<Record<string, number>>;
  /** memory V8 knows of outside its heap (ArrayBuffers, Buffers) and V8's own malloc */
  readonly external: number;
  readonly arrayBuffers: number;
  readonly v8Malloced: number;
}

const mib = (bytes: number): number => Math.round(bytes / 104857.6) / 10;

/** A `Name: <n> kB` (or plain number) line of /proc/<pid>/status, undefined when absent. */
function statusField(status: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+)( kB)?$`, 'm').exec(status);
  if (!m) return undefined;
  return m[2] ? Number(m[1]) * 1024 : Number(m[1]);
}

/** The report of a sample (no I/O). */
export function memoryReport(sample: MemorySample): MemoryReport {
  const anon = statusField(sample.procStatus, 'RssAnon');
  const file = statusField(sample.procStatus, 'RssFile');
  const threads = statusField(sample.procStatus, 'Threads');
  return {
    rss: mib(sample.usage.rss),
    ...(anon !== undefined && { rssAnon: mib(anon) }),
    ...(file !== undefined && { rssFile: mib(file) }),
    ...(threads !== undefined && { threads }),
    heapPhysical: mib(sample.heap.total_physical_size),
    heapUsed: mib(sample.heap.used_heap_size),
    heapSpaces: Object.fromEntries(
      sample.spaces.filter((s) => s.physical_space_size > 0).map((s) => [s.space_name.replace(/_space$/, ''), mib(s.physical_space_size)]),
    ),
    external: mib(sample.usage.external),
    arrayBuffers: mib(sample.usage.arrayBuffers),
    v8Malloced: mib(sample.heap.malloced_memory),
  };
}

/** This process and thread now. */
export function sampleMemory(): MemorySample {
  let procStatus = '';
  try {
    procStatus = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux, or no procfs: the V8 figures alone
  }
  return { procStatus, usage: process.memoryUsage(), heap: getHeapStatistics(), spaces: getHeapSpaceStatistics() };
}

/**
 * What `BPFSTEER_DEBUG_MEMORY` asks for: undefined (unset, empty or `0`: nothing), `once`, or the
 * period in ms of the repeated report (a number of at least 1000; a smaller one reports once).
 */
export function memoryDebugSetting(value: string | undefined): 'once' | number | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  const ms = Number(value);
  return Number.isInteger(ms) && ms >= 1000 ? ms : 'once';
}
