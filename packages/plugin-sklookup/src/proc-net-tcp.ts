/**
 * Rows of /proc/net/tcp and /proc/net/tcp6 (the TCP sockets of one network namespace), enough to
 * tell whether a socket (by inode) is a TCP listener of that namespace.
 */

export const TCP_LISTEN = 0x0a;

export interface TcpSocketRow {
  readonly family: 4 | 6;
  /** inode of the socket (what fstat of its fd reports) */
  readonly inode: bigint;
  /** TCP state, e.g. 0x0a = LISTEN */
  readonly state: number;
  readonly localPort: number;
}

/** Parses the text of /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6); bad lines are skipped. */
export function parseProcNetTcp(text: string, family: 4 | 6): TcpSocketRow[] {
  const rows: TcpSocketRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const port = /^[0-9A-F]+:([0-9A-F]{4})$/i.exec(f[1]);
    if (!port || !/^[0-9A-F]{2}$/i.test(f[3]) || !/^\d+$/.test(f[9])) continue;
    rows.push({ family, inode: BigInt(f[9]), state: parseInt(f[3], 16), localPort: parseInt(port[1], 16) });
  }
  return rows;
}
