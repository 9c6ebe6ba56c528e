// bench/diverter-call's Node floor: what frames_server.c does (answer each diverter request with the
// exit frame "x 0\n", no work in between), with node:net as the agent's runtime has it: the share of
// a call that is Node's own handling of a connection.
// usage: node bench/frames-server.mjs <socket path>   prints "ready" once it listens.
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';

const ANSWER = 'HTTP/1.0 200 OK\r\ncontent-type: application/x-bpfsteer-diverter-frames\r\n\r\nx 0\n';
const path = process.argv[2];
rmSync(path, { force: true });
createServer((socket) => {
  let text = '';
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    text += chunk;
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
    if (Buffer.byteLength(text.slice(end + 4)) >= length) socket.end(ANSWER);
  });
}).listen(path, () => console.log('ready'));
