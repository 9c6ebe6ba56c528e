import { describe, expect, it } from 'vitest';
import { type MemorySample, memoryDebugSetting, memoryReport, sampleMemory } from '../src/memory-report.js';

const MiB = 1024 * 1024;

const sample: MemorySample = {
  procStatus: 'Name:\tnode\nVmRSS:\t  148480 kB\nRssAnon:\t   90112 kB\nRssFile:\t   58368 kB\nThreads:\t13\n',
  usage: { rss: 145 * MiB, heapTotal: 40 * MiB, heapUsed: 24 * MiB, external: 4.2 * MiB, arrayBuffers: 0.25 * MiB },
  heap: { total_physical_size: 33.8 * MiB, used_heap_size: 23.75 * MiB, malloced_memory: 0.5 * MiB },
  spaces: [
    { space_name: 'new_space', physical_space_size: 11.3 * MiB },
    { space_name: 'old_space', physical_space_size: 16.26 * MiB },
    { space_name: 'shared_space', physical_space_size: 0 },
  ],
};

describe('memoryReport', () => {
  it('splits the resident set and names the heap spaces, in MiB with one decimal', () => {
    expect(memoryReport(sample)).toEqual({
      rss: 145,
      rssAnon: 88,
      rssFile: 57,
      threads: 13,
      heapPhysical: 33.8,
      heapUsed: 23.8,
      heapSpaces: { new: 11.3, old: 16.3 },
      external: 4.2,
      arrayBuffers: 0.3,
      v8Malloced: 0.5,
    });
  });

  it('leaves out what a system without /proc/self/status cannot tell', () => {
    const report = memoryReport({ ...sample, procStatus: '' });
    expect(report).not.toHaveProperty('rssAnon');
    expect(report).not.toHaveProperty('rssFile');
    expect(report).not.toHaveProperty('threads');
    expect(report.rss).toBe(145);
  });

  it('reports this process', () => {
    const report = memoryReport(sampleMemory());
    expect(report.rss).toBeGreaterThan(0);
    expect(report.heapUsed).toBeGreaterThan(0);
    expect(report.heapPhysical).toBeGreaterThanOrEqual(report.heapSpaces.old ?? 0);
  });
});

describe('memoryDebugSetting', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['0', undefined],
    ['1', 'once'],
    ['yes', 'once'],
    ['999', 'once'],
    ['1000', 1000],
    ['60000', 60000],
    ['1500.5', 'once'],
  ])('%j -> %j', (value, expected) => {
    expect(memoryDebugSetting(value)).toBe(expected);
  });
});
