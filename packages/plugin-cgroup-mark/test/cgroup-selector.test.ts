import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotFoundError } from '@bpfsteer/core-bpf';
import { cgroup2PathOf, describeSelector, resolveCgroups, underRoot, type ProcReader } from '../src/cgroup-selector.js';

describe('cgroup2PathOf', () => {
  it.each([
    ['0::/\n', '/'],
    ['0::/kubepods/burstable/pod1/abc\n', '/kubepods/burstable/pod1/abc'],
    ['12:memory:/x\n4:cpu:/y\n0::/system.slice/ztunnel.service\n', '/system.slice/ztunnel.service'],
    ['4:memory:/x\n', undefined], // cgroup v1 only
    ['0::/gone (deleted)\n', undefined],
    ['', undefined],
  ])('%j -> %s', (text, expected) => {
    expect(cgroup2PathOf(text)).toBe(expected);
  });
});

describe('underRoot', () => {
  it.each([
    ['/sys/fs/cgroup', '/', '/sys/fs/cgroup'],
    ['/sys/fs/cgroup/', '/a/b', '/sys/fs/cgroup/a/b'],
    ['/sys/fs/cgroup/unified', 'a', '/sys/fs/cgroup/unified/a'],
  ])('%s + %s', (root, path, expected) => {
    expect(underRoot(root, path)).toBe(expected);
  });
});

describe('resolveCgroups', () => {
  const root = mkdtempSync(join(tmpdir(), 'cgm-sel-'));
  for (const dir of ['a', 'zt/one', 'zt/two']) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'cgroup.procs'), '');
  }
  afterAll(() => rmSync(root, { recursive: true }));
  const table: Record<number, { comm: string; cgroup?: string }> = {
    10: { comm: 'ztunnel\n', cgroup: '0::/zt/one\n' },
    11: { comm: 'ztunnel\n', cgroup: '0::/zt/one\n' },
    12: { comm: 'ztunnel\n', cgroup: '0::/zt/two\n' },
    13: { comm: 'a-very-long-com\n', cgroup: '0::/a\n' }, // the kernel keeps 15 characters
    14: { comm: 'nocg\n', cgroup: '3:memory:/x\n' },
  };
  const proc: ProcReader = {
    pids: () => Object.keys(table).map(Number),
    read: (pid, file) => table[pid]?.[file],
  };

  it('takes a path relative to the root or absolute inside it', () => {
    expect(resolveCgroups('a', proc, root)).toEqual([join(root, 'a')]);
    expect(resolveCgroups(join(root, 'zt/one/'), proc, root)).toEqual([join(root, 'zt/one')]);
  });
  it('finds the cgroup of a pid', () => {
    expect(resolveCgroups({ pid: 12 }, proc, root)).toEqual([join(root, 'zt/two')]);
  });
  it('finds every distinct cgroup of the processes with a name (comm is 15 characters)', () => {
    expect(resolveCgroups({ process: 'ztunnel' }, proc, root)).toEqual([join(root, 'zt/one'), join(root, 'zt/two')]);
    expect(resolveCgroups({ process: 'a-very-long-command-name' }, proc, root)).toEqual([join(root, 'a')]);
  });
  it.each<[unknown, typeof Error, RegExp]>([
    ['missing', NotFoundError, /cgroup .*missing/],
    ['../etc', InvalidArgumentError, /without '\.\.'/],
    ['', InvalidArgumentError, /expected a path/],
    ['/etc', InvalidArgumentError, /outside the cgroup2 hierarchy/],
    [{ pid: 99 }, NotFoundError, /pid 99/],
    [{ pid: 14 }, NotFoundError, /pid 14/],
    [{ pid: 0 }, InvalidArgumentError, /positive integer pid/],
    [{ process: 'nginx' }, NotFoundError, /process named "nginx"/],
    [{ process: 'nocg' }, NotFoundError, /"nocg"/],
    [{ process: 'a/b' }, InvalidArgumentError, /command name/],
    [{ other: 1 }, InvalidArgumentError, /expected a path, \{ pid \} or \{ process \}/],
  ])('rejects %j', (sel, type, why) => {
    expect(() => resolveCgroups(sel as never, proc, root)).toThrow(type);
    expect(() => resolveCgroups(sel as never, proc, root)).toThrow(why);
  });
  it('a process outside this cgroup namespace ("/../..": the agent in a pod) is looked up from the host\'s namespace, in the mount of the whole hierarchy', () => {
    let inHost = false;
    const host = { run: <T>(read: () => T) => { inHost = true; try { return { value: read(), root: join(root, 'host') }; } finally { inHost = false; } } };
    const podView: ProcReader = {
      pids: () => [20, 21],
      read: (pid, file) => (file === 'comm' ? 'ztunnel\n' : inHost ? `0::/kubepods/zt${pid}\n` : `0::/../../kubepods/zt${pid}\n`),
    };
    expect(resolveCgroups({ pid: 20 }, podView, root, host)).toEqual([join(root, 'host/kubepods/zt20')]);
    expect(resolveCgroups({ process: 'ztunnel' }, podView, root, host)).toEqual([join(root, 'host/kubepods/zt20'), join(root, 'host/kubepods/zt21')]);
    expect(resolveCgroups({ pid: 12 }, proc, root, host)).toEqual([join(root, 'zt/two')]); // inside the namespace: as it reads
  });
  it('describes selectors', () => {
    expect(describeSelector('a/b')).toBe('cgroup a/b');
    expect(describeSelector({ pid: 3 })).toBe('the cgroup of pid 3');
    expect(describeSelector({ process: 'ztunnel' })).toBe('the cgroup of process "ztunnel"');
  });
});
