/**
 * Attach a tc (sched_cls, direct-action) program to an interface's ingress or egress, through tcx
 * links (kernel >= 6.6) or a legacy netlink cls_bpf filter on clsact. Never stacks duplicates:
 * - tcx + pinPath: a link pinned there is re-adopted and switched to the new program;
 * - tcx without pinPath: AlreadyAttachedError when the hook already runs the same program or one
 *   with the same kernel name (in tcx or as one of our netlink filters);
 * - netlink: the filter sits at a fixed priority and a handle derived from pinPath (or the program
 *   name) and is replaced in place (see netlink-tc-link.ts for what pinning means there).
 * With `netns`, the interface is looked up and the attachment made inside that namespace.
 */
import { closeSync, existsSync } from 'node:fs';
import { BPF } from './ffi/bpf-constants.js';
import { AlreadyAttachedError, InvalidArgumentError, PinIncompatibleError } from './errors.js';
import { validatePinPath } from './bpffs.js';
import { attachFdLink, findSameProgram, queryProgIds } from './fd-link-attach.js';
import { inspectProgram, type Link, type ProgramRef } from './link.js';
import { inNetns, netnsPath } from './netns.js';
import { ifIndex, validateIfname } from './interfaces.js';
import { probeFeature, requireFeature } from './features.js';
import { attachNetlinkTc, netlinkTcHandle, queryNetlinkTc, type TcDirection } from './netlink-tc-link.js';
import { type ProgramInfo, readProgramInfo } from './object-info.js';
import { openPin } from './pin-path.js';

export type TcMode = 'auto' | 'tcx' | 'netlink';

export interface AttachTcOptions {
  ifname: string;
  direction: TcDirection;
  /** netns name (as in `ip netns`) or path; default: the caller's */
  netns?: string;
  /** auto (default): tcx when the kernel has it, else netlink; an existing pin decides which */
  mode?: TcMode;
  /** pin path on bpffs: re-adopted when it exists, created otherwise */
  pinPath?: string;
}

/** Validate and normalize attachTc options (pure apart from nothing: no system access). */
export function parseTcOptions(opts: unknown): Required<Pick<AttachTcOptions, 'ifname' | 'direction' | 'mode'>> &
  Pick<AttachTcOptions, 'netns' | 'pinPath'> {
  if (opts === null || typeof opts !== 'object') {
    throw new InvalidArgumentError('attachTc: expected options { ifname, direction, netns?, mode?, pinPath? }');
  }
  const o = opts as Record<string, unknown>;
  const ifname = validateIfname(o.ifname);
  if (o.direction !== 'ingress' && o.direction !== 'egress') {
    throw new InvalidArgumentError(`attachTc: invalid direction ${JSON.stringify(o.direction)}: expected 'ingress' or 'egress'`);
  }
  const mode = o.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'tcx' && mode !== 'netlink') {
    throw new InvalidArgumentError(`attachTc: invalid mode ${JSON.stringify(o.mode)}: expected 'auto', 'tcx' or 'netlink'`);
  }
  if (o.netns !== undefined) netnsPath(o.netns as string);
  if (o.pinPath !== undefined && typeof o.pinPath !== 'string') {
    throw new InvalidArgumentError(`attachTc: invalid pinPath ${JSON.stringify(o.pinPath)}: expected a path on bpffs`);
  }
  return {
    ifname,
    direction: o.direction,
    mode,
    netns: o.netns as string | undefined,
    pinPath: o.pinPath as string | undefined,
  };
}

/**
 * The link type auto mode gives a new attachment (no pin) on this kernel: a tcx link where the
 * kernel has tcx (>= 6.6), else a netlink cls_bpf filter; what status shows for the path taken.
 */
export function autoTcLinkType(direction: TcDirection): 'tcx-ingress' | 'tcx-egress' | 'netlink-tc-ingress' | 'netlink-tc-egress' {
  return `${autoMode() === 'tcx' ? 'tcx' : 'netlink-tc'}-${direction}`;
}

/** What auto mode picks without a pin: tcx where the kernel has it, else netlink. */
function autoMode(): 'tcx' | 'netlink' {
  return probeFeature('tcx').supported ? 'tcx' : 'netlink';
}

/** Which mechanism to use: an existing pin decides in auto mode; an explicit mode must match it. */
function chooseMode(mode: TcMode, pinPath: string | undefined): 'tcx' | 'netlink' {
  let pinned: 'tcx' | 'netlink' | undefined;
  if (pinPath !== undefined && existsSync(pinPath)) {
    const { fd, kind } = openPin(pinPath, `attach tc: open pin ${pinPath}`);
    try {
      if (kind === 'link') pinned = 'tcx';
      else if (kind === 'prog') pinned = 'netlink';
      else throw new PinIncompatibleError(pinPath, `it holds a bpf ${kind}, expected a tcx link or a tc program`);
      if (pinned === 'netlink') {
        const t = readProgramInfo(fd, `attach tc: inspect pin ${pinPath}`).type;
        if (t !== 'sched_cls') throw new PinIncompatibleError(pinPath, `it holds a ${t} program, expected sched_cls`);
      }
    } finally {
      closeSync(fd);
    }
  }
  if (mode === 'auto') return pinned ?? autoMode();
  if (pinned !== undefined && pinned !== mode) {
    throw new PinIncompatibleError(
      pinPath as string,
      pinned === 'tcx' ? 'it holds a tcx link, but mode netlink was asked for' : 'it holds a netlink tc program, but mode tcx was asked for',
    );
  }
  if (mode === 'tcx') requireFeature('tcx');
  else requireFeature('netlink-tc');
  return mode;
}

const HINT = 'detach it first, or attach with a pinPath so the pinned attachment is re-adopted and updated';

/** Refuse when our netlink filter for this program name already runs a same-named program. */
function refuseNetlinkTwin(ifindex: number, direction: TcDirection, mine: ProgramInfo, displayName: string, hook: string): void {
  const id = queryNetlinkTc(ifindex, direction, netlinkTcHandle(mine.name), `${hook}: look for a netlink filter`);
  if (id === undefined) return;
  if (findSameProgram([id], mine)) {
    throw new AlreadyAttachedError(hook, `a netlink tc filter already runs program ${displayName} (id ${id}); ${HINT}`);
  }
}

/** Refuse when the tcx hook already runs a same-named program (only on kernels with tcx). */
function refuseTcxTwin(ifindex: number, direction: TcDirection, mine: ProgramInfo, displayName: string, hook: string): void {
  if (!probeFeature('tcx').supported) return;
  const attach = direction === 'ingress' ? BPF.attach.TCX_INGRESS : BPF.attach.TCX_EGRESS;
  const same = findSameProgram(queryProgIds(ifindex, attach, `${hook}: list tcx programs`), mine);
  if (same) throw new AlreadyAttachedError(hook, `a tcx link already runs program ${displayName} (id ${same.id}); ${HINT}`);
}

/** Attach `prog` to `opts.ifname` (see the file comment for the rules). */
export function attachTc(prog: ProgramRef, opts: AttachTcOptions): Link {
  const o = parseTcOptions(opts);
  const where = `${o.ifname}${o.netns === undefined ? '' : ` in netns ${o.netns}`}`;
  const pinPath = o.pinPath === undefined ? undefined : validatePinPath(o.pinPath);
  const mine = inspectProgram(prog, ['sched_cls'], `attach tc ${o.direction} on ${where}`);
  const mode = chooseMode(o.mode, pinPath);
  const what = `attach ${mode} ${o.direction} on ${where}`;
  return inNetns(o.netns, () => {
    const ifindex = ifIndex(o.ifname);
    const target = `${o.ifname} (ifindex ${ifindex})${o.netns === undefined ? '' : ` in netns ${o.netns}`}`;
    if (mode === 'tcx') {
      if (pinPath === undefined) refuseNetlinkTwin(ifindex, o.direction, mine, prog.name, what);
      return attachFdLink({
        prog,
        progTypes: ['sched_cls'],
        what,
        type: o.direction === 'ingress' ? 'tcx-ingress' : 'tcx-egress',
        target,
        targetFd: ifindex,
        attachType: o.direction === 'ingress' ? BPF.attach.TCX_INGRESS : BPF.attach.TCX_EGRESS,
        kernelLinkType: BPF.link.TCX,
        targetId: BigInt(ifindex),
        pinPath,
      });
    }
    if (pinPath === undefined || !existsSync(pinPath)) refuseTcxTwin(ifindex, o.direction, mine, prog.name, what);
    return attachNetlinkTc({
      prog,
      progKernelName: mine.name,
      ifname: o.ifname,
      ifindex,
      direction: o.direction,
      netns: o.netns,
      pinPath,
      what,
    });
  });
}
