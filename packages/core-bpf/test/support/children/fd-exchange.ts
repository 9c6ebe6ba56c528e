// Child process of system-helpers.kernel.test.ts: on fd 3 (a unix socket) it receives a file fd with a
// payload, appends a line to that file through the received fd, then sends back the fd of a file it
// opened itself. Usage: fd-exchange.ts OWN_FILE
import { openSync, writeSync, closeSync } from 'node:fs';
import { receiveFds, sendFds } from '../../../src/fd-passing.js';

const own = process.argv[2];
const { fds, payload } = receiveFds(3, 4);
for (const fd of fds) {
  writeSync(fd, `child got ${fds.length} fd(s) with "${payload.toString()}"\n`);
  closeSync(fd);
}
const mine = openSync(own, 'w+');
writeSync(mine, 'written by the child\n');
sendFds(3, [mine], Buffer.from('back'));
closeSync(mine);
closeSync(3);
