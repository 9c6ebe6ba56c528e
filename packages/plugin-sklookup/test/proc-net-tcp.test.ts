import { describe, expect, it } from 'vitest';
import { TCP_LISTEN, parseProcNetTcp } from '../src/proc-net-tcp.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0
   1: 0200A8C0:9C40 0900A8C0:0050 01 00000000:00000000 00:00000000 00000000     0        0 123457 1 0000000000000000 20 4 30 10 -1
garbage line
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:3AB0 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 98765432109 1 0000000000000000 100 0 0 10 0
`;

describe('parseProcNetTcp', () => {
  it('reads family, inode, state and local port', () => {
    expect(parseProcNetTcp(TCP, 4)).toEqual([
      { family: 4, inode: 123456n, state: TCP_LISTEN, localPort: 80 },
      { family: 4, inode: 123457n, state: 1, localPort: 40000 },
    ]);
    expect(parseProcNetTcp(TCP6, 6)).toEqual([{ family: 6, inode: 98765432109n, state: TCP_LISTEN, localPort: 15024 }]);
  });
  it('an empty or missing file has no rows', () => {
    expect(parseProcNetTcp('', 6)).toEqual([]);
  });
});
