/** What runs on an interface's tcx hook, as the kernel reports it (BPF_PROG_QUERY). */
import { closeSync } from 'node:fs';
import { InvalidArgumentError } from './errors.js';
import { BPF } from './ffi/bpf-constants.js';
import { libbpf } from './ffi/libbpf-api.js';
import { queryProgIds } from './fd-link-attach.js';
import { ifIndex } from './interfaces.js';
import { inNetns } from './netns.js';
import type { TcDirection } from './netlink-tc-link.js';
import { readProgramInfo } from './object-info.js';
import { probeFeature } from './features.js';

export interface AttachedProgram {
  readonly id: number;
  /** the kernel's name (at most 15 characters) */
  readonly name: string;
}

/**
 * The programs attached to `ifname`'s tcx hook in `direction`, in run order; none on a kernel
 * without tcx (< 6.6: there is no such hook, and the query is refused with EINVAL).
 */
export function tcxPrograms(opts: { ifname: string; direction: TcDirection; netns?: string }): AttachedProgram[] {
  if (opts.direction !== 'ingress' && opts.direction !== 'egress') {
    throw new InvalidArgumentError(`tcxPrograms: direction must be "ingress" or "egress", got ${JSON.stringify(opts.direction)}`);
  }
  // no hook to list on a kernel without tcx; a process that may not ask gets the query's EPERM
  if (probeFeature('tcx').reason === 'kernel') return [];
  // the ifindex, and so the query, belong to the interface's netns
  return inNetns(opts.netns, () => query(ifIndex(opts.ifname), opts.ifname, opts.direction));
}

function query(ifindex: number, ifname: string, direction: TcDirection): AttachedProgram[] {
  const attach = direction === 'ingress' ? BPF.attach.TCX_INGRESS : BPF.attach.TCX_EGRESS;
  const out: AttachedProgram[] = [];
  for (const id of queryProgIds(ifindex, attach, `list tcx ${direction} programs on ${ifname}`)) {
    const fd = libbpf.bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue; // detached meanwhile
    try {
      out.push({ id, name: readProgramInfo(fd, `inspect program ${id}`).name });
    } finally {
      closeSync(fd);
    }
  }
  return out;
}
