/**
 * The BPF programs of the netlink (cls_bpf) tc filters on an interface, as `bpftool net` lists them
 * in the interface's netns: what runs where the kernel has no tcx (< 6.6), for tests that look at
 * the hook itself (core-bpf's tcxPrograms lists the tcx side).
 */
import { spawnSync } from 'node:child_process';

export interface NetlinkTcProgram {
  readonly id: number;
  /** the filter's name (libbpf names it after the program), without the ":[id]" it appends */
  readonly name: string;
}

export function netlinkTcPrograms(netnsPath: string, ifname: string, direction: 'ingress' | 'egress'): NetlinkTcProgram[] {
  const r = spawnSync('nsenter', [`--net=${netnsPath}`, 'bpftool', '-j', 'net', 'show', 'dev', ifname], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftool net show dev ${ifname} in ${netnsPath}: ${r.stderr || r.error?.message}`);
  const [dev] = JSON.parse(r.stdout) as { tc?: { kind: string; id: number; name: string }[] }[];
  return (dev?.tc ?? []).filter((f) => f.kind === `clsact/${direction}`).map((f) => ({ id: f.id, name: f.name.replace(/:\[[^\]]*\]$/, '') }));
}
