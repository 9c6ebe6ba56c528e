/**
 * Attach an sk_lookup program to a network namespace: it then picks the listening socket for new
 * connections/datagrams arriving in that namespace. Several programs may share a namespace; the
 * same program is never attached twice (AlreadyAttachedError) and a pinPath is re-adopted.
 */
import { BPF } from './ffi/bpf-constants.js';
import { InvalidArgumentError } from './errors.js';
import { attachFdLink } from './fd-link-attach.js';
import type { Link, ProgramRef } from './link.js';
import { NetnsHandle, netnsLabel } from './netns.js';

export interface AttachNetnsOptions {
  /** netns name (as in `ip netns`), path (e.g. /proc/self/ns/net) or open handle */
  netns: NetnsHandle | string;
  /** pin path on bpffs: re-adopted (and switched to `prog`) when it exists, created otherwise */
  pinPath?: string;
}

export function attachNetns(prog: ProgramRef, opts: AttachNetnsOptions): Link {
  if (opts === null || typeof opts !== 'object' || (typeof opts.netns !== 'string' && !(opts.netns instanceof NetnsHandle))) {
    throw new InvalidArgumentError('attachNetns: expected options { netns: name | path | NetnsHandle, pinPath? }');
  }
  const own = typeof opts.netns === 'string' ? NetnsHandle.open(opts.netns) : undefined;
  const handle = own ?? (opts.netns as NetnsHandle);
  const label = netnsLabel(opts.netns);
  try {
    return attachFdLink({
      prog,
      progTypes: ['sk_lookup'],
      what: `attach sk_lookup to netns ${label}`,
      type: 'sk_lookup',
      target: `netns ${label}`,
      targetFd: handle.fd,
      attachType: BPF.attach.SK_LOOKUP,
      kernelLinkType: BPF.link.NETNS,
      targetId: handle.inode,
      pinPath: opts.pinPath,
    });
  } finally {
    own?.close();
  }
}
