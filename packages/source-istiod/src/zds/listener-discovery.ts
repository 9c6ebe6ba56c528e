/**
 * Discovery of a pod's HBONE listener without the proxy's help: inside the pod's network namespace
 * sock_diag lists the TCP listeners on the HBONE port, /proc names the process holding each one,
 * and pidfd_getfd duplicates it into this process. The duplicate is checked (same socket inode,
 * listening, in the pod's namespace) before it is returned.
 */
import { closeSync } from 'node:fs';
import { duplicateFdFromProcess, fdInode, NetnsHandle, socketInfo, socketOwners, tcpListeners } from '@bpfsteer/core-bpf';

export interface DiscoveredListener {
  /** this process's duplicate (the caller owns it) */
  readonly fd: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  /** IPv6 sockets: false = dual-stack (takes IPv4 too) */
  readonly v6Only?: boolean;
  readonly inode: bigint;
  /** the process it was taken from */
  readonly ownerPid: number;
}

export interface DiscoveryResult {
  readonly listeners: DiscoveredListener[];
  /** why listeners that exist could not be taken */
  readonly problems: string[];
}

/** Find and take the TCP listeners on `port` inside the netns at `netnsPath`. */
export function discoverListeners(netnsPath: string, port: number): DiscoveryResult {
  const handle = NetnsHandle.open(netnsPath);
  const listeners: DiscoveredListener[] = [];
  const problems: string[] = [];
  try {
    const nsInode = handle.inode;
    for (const entry of tcpListeners({ netns: handle, port })) {
      const where = `[${entry.address}]:${entry.port} (socket inode ${entry.inode})`;
      const owners = socketOwners(entry.inode).filter((o) => o.pid !== process.pid);
      if (owners.length === 0) {
        problems.push(`no other process holds the listener ${where}`);
        continue;
      }
      let taken: DiscoveredListener | undefined;
      for (const owner of owners) {
        let fd: number;
        try {
          fd = duplicateFdFromProcess(owner.pid, owner.fd);
        } catch (err) {
          problems.push(`cannot take ${where} from pid ${owner.pid}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        try {
          const info = socketInfo(fd);
          if (fdInode(fd) !== entry.inode || !info.listening || info.netnsInode !== nsInode || info.protocol !== 6) {
            throw new Error('the fd changed meanwhile (not the same listening TCP socket of this netns)');
          }
          taken = {
            fd,
            family: entry.family,
            address: entry.address,
            port: entry.port,
            ...(info.v6Only !== undefined ? { v6Only: info.v6Only } : {}),
            inode: entry.inode,
            ownerPid: owner.pid,
          };
          break;
        } catch (err) {
          closeSync(fd);
          problems.push(`fd ${owner.fd} of pid ${owner.pid} for ${where}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (taken) listeners.push(taken);
    }
  } finally {
    handle.close();
  }
  return { listeners, problems };
}
