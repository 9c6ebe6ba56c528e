/**
 * Creating kernel bpf_links without ever stacking duplicates:
 * - with a pin path that holds a link of the same kind on the same target, that link is re-adopted and
 *   atomically switched to the new program (bpf_link_update) instead of creating a second one;
 *   a pinned link whose target is gone (device/cgroup/netns deleted) is replaced;
 * - otherwise, when the hook already runs the same program (same id, or same kernel name and type),
 *   AlreadyAttachedError is thrown instead of attaching it a second time.
 */
import { closeSync, existsSync } from 'node:fs';
import { checkLibbpf, libbpf } from './ffi/libbpf-api.js';
import { AlreadyAttachedError, ERRNO, PinIncompatibleError } from './errors.js';
import { validatePinPath } from './bpffs.js';
import { FdLink, inspectProgram, linkTypeName, type LinkType, type ProgramRef } from './link.js';
import { type ProgramInfo, readLinkInfo, readProgramInfo } from './object-info.js';
import { openPin, unlinkPin } from './pin-path.js';
import type { ProgramType } from './program-type.js';

export interface FdAttachSpec {
  prog: ProgramRef;
  progTypes: readonly ProgramType[];
  /** error context, e.g. "attach tcx ingress on veth0" */
  what: string;
  type: LinkType;
  target: string;
  /** what bpf_link_create and BPF_PROG_QUERY take: an fd (netns, cgroup) or an ifindex (tcx) */
  targetFd: number;
  attachType: number;
  kernelLinkType: number;
  /** the target as bpf_link_info reports it: netns inode, cgroup id or ifindex */
  targetId: bigint;
  pinPath?: string;
}

/** Ids of the programs attached at a hook (target fd or ifindex + attach type), BPF_PROG_QUERY. */
export function queryProgIds(target: number, attachType: number, context: string): number[] {
  let capacity = 64;
  for (;;) {
    const ids = new Uint32Array(capacity);
    const count = new Uint32Array([capacity]);
    const ret = libbpf.bpf_prog_query(target, attachType, 0, new Uint32Array(1), ids, count);
    if (ret === -ERRNO.ENOSPC && capacity < 4096) {
      capacity *= 4; // more programs than room
      continue;
    }
    checkLibbpf('bpf_prog_query', ret, context);
    return Array.from(ids.subarray(0, Math.min(count[0], capacity)));
  }
}

/** The attached program that is "the same" as `mine`, if any. */
export function findSameProgram(attachedIds: readonly number[], mine: ProgramInfo): ProgramInfo | undefined {
  for (const id of attachedIds) {
    if (id === mine.id) return mine;
    const fd = libbpf.bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue; // gone meanwhile
    try {
      const other = readProgramInfo(fd, `inspect attached program ${id}`);
      if (other.name === mine.name && other.type === mine.type) return other;
    } finally {
      closeSync(fd);
    }
  }
  return undefined;
}

/** Throw AlreadyAttachedError when the hook already runs `mine` or a program of the same name and type. */
export function refuseDuplicate(target: number, attachType: number, mine: ProgramInfo, displayName: string, hook: string, hint: string): void {
  const ids = queryProgIds(target, attachType, `${hook}: list attached programs`);
  const same = findSameProgram(ids, mine);
  if (same) {
    const which =
      same.id === mine.id
        ? `program ${displayName} (id ${mine.id}) is already attached`
        : `another program named ${displayName} (id ${same.id}) is already attached`;
    throw new AlreadyAttachedError(hook, `${which}; ${hint}`);
  }
}

/** Re-adopt the link pinned at `pinPath`; undefined when it was stale (target gone) and has been removed. */
function adoptPinned(spec: FdAttachSpec, pinPath: string, mine: ProgramInfo): FdLink | undefined {
  const { fd, kind } = openPin(pinPath, `${spec.what}: open pinned link ${pinPath}`);
  let keep = false;
  try {
    if (kind !== 'link') throw new PinIncompatibleError(pinPath, `it holds a bpf ${kind}, expected a ${spec.type} link`);
    const li = readLinkInfo(fd, `${spec.what}: inspect pinned link ${pinPath}`);
    if (li.type !== spec.kernelLinkType || li.attachType !== spec.attachType) {
      const found = linkTypeName(li.type, li.attachType) ?? `kernel link type ${li.type}, attach type ${li.attachType}`;
      throw new PinIncompatibleError(pinPath, `it is a ${found} link, expected ${spec.type}`);
    }
    if (li.targetId === 0n) {
      unlinkPin(pinPath, `${spec.what}: remove stale pin ${pinPath}`); // its device/cgroup/netns is gone
      return undefined;
    }
    if (li.targetId !== spec.targetId) {
      throw new PinIncompatibleError(pinPath, `it is attached to another target (id ${li.targetId}), expected ${spec.target} (id ${spec.targetId})`);
    }
    if (li.progId !== mine.id) {
      checkLibbpf('bpf_link_update', libbpf.bpf_link_update(fd, spec.prog.fd, null), `${spec.what}: switch pinned link ${pinPath} to program ${spec.prog.name}`);
    }
    keep = true;
    return new FdLink(fd, spec.type, spec.target, spec.progTypes, pinPath, true);
  } finally {
    if (!keep) closeSync(fd);
  }
}

/** Attach (or re-adopt) a kernel bpf_link as described by `spec`. */
export function attachFdLink(spec: FdAttachSpec): FdLink {
  const mine = inspectProgram(spec.prog, spec.progTypes, spec.what);
  const pinPath = spec.pinPath === undefined ? undefined : validatePinPath(spec.pinPath);
  if (pinPath !== undefined && existsSync(pinPath)) {
    const adopted = adoptPinned(spec, pinPath, mine);
    if (adopted) return adopted;
  }
  refuseDuplicate(
    spec.targetFd,
    spec.attachType,
    mine,
    spec.prog.name,
    spec.what,
    'detach it first, or attach with a pinPath so the pinned link is re-adopted and updated',
  );
  const fd = checkLibbpf('bpf_link_create', libbpf.bpf_link_create(spec.prog.fd, spec.targetFd, spec.attachType, null), `${spec.what}: program ${spec.prog.name}`);
  const link = new FdLink(fd, spec.type, spec.target, spec.progTypes);
  if (pinPath !== undefined) {
    try {
      link.pin(pinPath);
    } catch (err) {
      link.close(); // unpinned: detaches
      throw err;
    }
  }
  return link;
}
