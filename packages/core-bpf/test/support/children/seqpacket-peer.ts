// Child process of seqpacket.kernel.test.ts: connects to the SOCK_SEQPACKET server at PATH, and for
// every message it receives writes a line "<payload> via <fd count>" into each received fd (a file)
// and answers "ack:<payload>" with a fd of a file it opens itself (OWN_FILE). Exits when the server
// closes the connection. Usage: seqpacket-peer.ts PATH OWN_FILE
import { closeSync, openSync, writeSync } from 'node:fs';
import { SeqpacketSocket } from '../../../src/seqpacket-socket.js';

const [path, own] = process.argv.slice(2);
const socket = SeqpacketSocket.connect(path);
const mine = openSync(own, 'w+');
socket.start({
  message({ payload, fds }) {
    for (const fd of fds) {
      writeSync(fd, `${payload.toString()} via ${fds.length}\n`);
      closeSync(fd);
    }
    void socket.send(Buffer.from(`ack:${payload.toString()}`), [mine]);
  },
  end(error) {
    if (error) console.error(String(error));
    closeSync(mine);
  },
});
console.log('connected');
