/**
 * Re-open an attachment pinned on bpffs: a kernel link (tcx, sk_lookup, cgroup) or the program pin
 * of a netlink tc filter, whose filter is then looked up in the current netns or `opts.netns`.
 */
import { closeSync, existsSync } from 'node:fs';
import { NotFoundError, PinIncompatibleError } from './errors.js';
import { validatePinPath } from './bpffs.js';
import { FdLink, linkTypeName, type Link, type LinkType } from './link.js';
import { inNetns, netnsPath } from './netns.js';
import { ifName, interfaceNames } from './interfaces.js';
import { libcRaw } from './ffi/libc.js';
import { NetlinkTcLink, netlinkTcHandle, queryNetlinkTc, type TcDirection } from './netlink-tc-link.js';
import { readLinkInfo, readProgramInfo } from './object-info.js';
import { openPin } from './pin-path.js';
import type { ProgramType } from './program-type.js';

const PROG_TYPE_OF: Record<LinkType, ProgramType> = {
  'tcx-ingress': 'sched_cls',
  'tcx-egress': 'sched_cls',
  'netlink-tc-ingress': 'sched_cls',
  'netlink-tc-egress': 'sched_cls',
  sk_lookup: 'sk_lookup',
  'cgroup_skb-ingress': 'cgroup_skb',
  'cgroup_skb-egress': 'cgroup_skb',
  'cgroup-connect4': 'cgroup_sock_addr',
  'cgroup-connect6': 'cgroup_sock_addr',
  'cgroup-getsockopt': 'cgroup_sockopt',
  sockops: 'sock_ops',
};

export interface OpenPinnedLinkOptions {
  /** netns where a tcx link's interface / a netlink filter lives (default: the caller's) */
  netns?: string;
}

function describeTarget(type: LinkType, targetId: bigint, netns: string | undefined): string {
  const inNs = netns === undefined ? '' : ` in netns ${netns}`;
  if (type.startsWith('tcx-')) {
    const index = Number(targetId);
    const name = index > 0 ? ifName(index, netns) : undefined;
    return `${name ?? '?'} (ifindex ${index})${inNs}`;
  }
  if (type === 'sk_lookup') return `netns inode ${targetId}`;
  return `cgroup id ${targetId}`;
}

function findNetlinkFilter(path: string, prog: { id: number; name: string }, netns: string | undefined): Link {
  const handles = [...new Set([netlinkTcHandle(path), netlinkTcHandle(prog.name)])];
  const found = inNetns(netns, () => {
    for (const ifname of interfaceNames()) {
      const ifindex = libcRaw.if_nametoindex(ifname);
      if (ifindex === 0) continue;
      for (const direction of ['ingress', 'egress'] as TcDirection[]) {
        for (const handle of handles) {
          const id = queryNetlinkTc(ifindex, direction, handle, `open pinned netlink tc program ${path}`);
          if (id === prog.id) return { ifname, ifindex, direction, handle };
        }
      }
    }
    return undefined;
  });
  if (!found) {
    throw new NotFoundError(
      `a netlink tc filter running program ${prog.name} (id ${prog.id}) pinned at ${path}${netns === undefined ? '' : ` in netns ${netns}`}`,
    );
  }
  return new NetlinkTcLink({ ...found, netns, progId: prog.id, pinnedPath: path, adopted: true });
}

/** Open the attachment pinned at `path`. */
export function openPinnedLink(path: string, opts: OpenPinnedLinkOptions = {}): Link {
  const p = validatePinPath(path, 'pinned link path');
  if (opts.netns !== undefined) netnsPath(opts.netns);
  if (!existsSync(p)) throw new NotFoundError(`pinned link ${p}`);
  const { fd, kind } = openPin(p, `open pinned link ${p}`);
  let keep = false;
  try {
    if (kind === 'link') {
      const li = readLinkInfo(fd, `open pinned link ${p}`);
      const type = linkTypeName(li.type, li.attachType);
      if (type === undefined) {
        throw new PinIncompatibleError(p, `it is a kernel link of type ${li.type} / attach type ${li.attachType}, which core-bpf does not manage`);
      }
      const link = new FdLink(fd, type, describeTarget(type, li.targetId, opts.netns), [PROG_TYPE_OF[type]], p, true);
      keep = true;
      return link;
    }
    if (kind === 'prog') {
      const info = readProgramInfo(fd, `open pinned link ${p}`);
      if (info.type !== 'sched_cls') {
        throw new PinIncompatibleError(p, 'it holds a program that is not a tc program, not a link');
      }
      return findNetlinkFilter(p, info, opts.netns);
    }
    throw new PinIncompatibleError(p, `it holds a bpf ${kind}, not a link`);
  } finally {
    if (!keep) closeSync(fd);
  }
}
