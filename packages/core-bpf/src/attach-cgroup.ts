/**
 * Attach a cgroup program (cgroup_skb ingress/egress, cgroup/connect4 and connect6, sockops,
 * cgroup/getsockopt) to a cgroup v2
 * directory. Links are multi-attach: programs of other owners on the same cgroup keep running; the
 * same program is never attached twice (AlreadyAttachedError) and a pinPath is re-adopted.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { BPF } from './ffi/bpf-constants.js';
import { InvalidArgumentError, NotFoundError } from './errors.js';
import { attachFdLink } from './fd-link-attach.js';
import type { Link, LinkType, ProgramRef } from './link.js';
import { cgroup2Root, cgroupId, resolveCgroupPath } from './cgroup.js';
import type { ProgramType } from './program-type.js';

export type CgroupAttachType = 'cgroup_skb-ingress' | 'cgroup_skb-egress' | 'connect4' | 'connect6' | 'sockops' | 'getsockopt';

export interface AttachCgroupOptions {
  /** path relative to the cgroup2 root, or absolute inside it */
  cgroup: string;
  attachType: CgroupAttachType;
  pinPath?: string;
}

export const CGROUP_ATTACH: Record<CgroupAttachType, { attach: number; progType: ProgramType; type: LinkType }> = {
  'cgroup_skb-ingress': { attach: BPF.attach.CGROUP_INET_INGRESS, progType: 'cgroup_skb', type: 'cgroup_skb-ingress' },
  'cgroup_skb-egress': { attach: BPF.attach.CGROUP_INET_EGRESS, progType: 'cgroup_skb', type: 'cgroup_skb-egress' },
  connect4: { attach: BPF.attach.CGROUP_INET4_CONNECT, progType: 'cgroup_sock_addr', type: 'cgroup-connect4' },
  connect6: { attach: BPF.attach.CGROUP_INET6_CONNECT, progType: 'cgroup_sock_addr', type: 'cgroup-connect6' },
  sockops: { attach: BPF.attach.CGROUP_SOCK_OPS, progType: 'sock_ops', type: 'sockops' },
  getsockopt: { attach: BPF.attach.CGROUP_GETSOCKOPT, progType: 'cgroup_sockopt', type: 'cgroup-getsockopt' },
};

export function attachCgroup(prog: ProgramRef, opts: AttachCgroupOptions): Link {
  if (opts === null || typeof opts !== 'object') {
    throw new InvalidArgumentError('attachCgroup: expected options { cgroup, attachType, pinPath? }');
  }
  const kind = Object.hasOwn(CGROUP_ATTACH, String(opts.attachType)) ? CGROUP_ATTACH[opts.attachType] : undefined;
  if (kind === undefined) {
    throw new InvalidArgumentError(
      `attachCgroup: invalid attachType ${JSON.stringify(opts.attachType)}: expected one of ${Object.keys(CGROUP_ATTACH).join(', ')}`,
    );
  }
  const path = resolveCgroupPath(opts.cgroup, cgroup2Root());
  if (!existsSync(`${path}/cgroup.procs`)) throw new NotFoundError(`cgroup ${path}`);
  const fd = openSync(path, 'r');
  try {
    return attachFdLink({
      prog,
      progTypes: [kind.progType],
      what: `attach ${kind.type} to cgroup ${path}`,
      type: kind.type,
      target: `cgroup ${path}`,
      targetFd: fd,
      attachType: kind.attach,
      kernelLinkType: BPF.link.CGROUP,
      targetId: cgroupId(path),
      pinPath: opts.pinPath,
    });
  } finally {
    closeSync(fd);
  }
}
