/**
 * What is attached at a tc hook, as the kernel reports it (for asserting "exactly one program").
 */
import { closeSync } from 'node:fs';
import { libbpf } from '../../src/ffi/libbpf-api.js';
import { readProgramInfo } from '../../src/object-info.js';
import { run } from './lab.js';
import { tcxPrograms as listTcx } from '../../src/tcx-programs.js';

export function progName(id: number): string {
  const fd = libbpf.bpf_prog_get_fd_by_id(id);
  if (fd < 0) return `<gone ${id}>`;
  try {
    return readProgramInfo(fd, 'test').name;
  } finally {
    closeSync(fd);
  }
}

/** Names of the programs on the tcx hook (through the public tcxPrograms). */
export function tcxPrograms(netns: string, ifname: string, direction: 'ingress' | 'egress'): string[] {
  return listTcx({ ifname, direction, netns }).map((p) => p.name);
}

/** Names of the bpf programs of all legacy tc filters on the hook (from `tc filter show`). */
export function netlinkPrograms(netns: string, ifname: string, direction: 'ingress' | 'egress'): string[] {
  let out: string;
  try {
    out = run('ip', ['netns', 'exec', netns, 'tc', 'filter', 'show', 'dev', ifname, direction]);
  } catch {
    return []; // no clsact qdisc
  }
  const names: string[] = [];
  for (const m of out.matchAll(/ id (\d+) /g)) names.push(progName(Number(m[1])));
  return names;
}

/** Every program at the hook, tcx first, then legacy filters. */
export function hookPrograms(netns: string, ifname: string, direction: 'ingress' | 'egress'): string[] {
  return [...tcxPrograms(netns, ifname, direction), ...netlinkPrograms(netns, ifname, direction)];
}
