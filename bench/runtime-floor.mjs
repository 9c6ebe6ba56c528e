// The runtime floor of the agent's memory: a process with what every agent has and nothing of the
// agent's own code - Node's ESM loader, a worker thread (a plugin's) that loads koffi and the
// system libbpf, and an HTTP server listening on a unix socket. Run as a child by
// runtimeFloorRssKiB (bare-node.mjs); prints "up" once all three are in place.
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';

const socket = process.argv[2];
if (!socket) throw new Error('usage: runtime-floor.mjs <unix socket path>');
const thread = new Worker(
  "const koffi = require('koffi'); koffi.load('libbpf.so.1'); require('node:worker_threads').parentPort.postMessage('up'); setInterval(() => {}, 1 << 30);",
  { eval: true },
);
await new Promise((resolve, reject) => {
  thread.once('message', resolve);
  thread.once('error', reject);
});
await new Promise((resolve, reject) => createServer((_, res) => res.end('ok')).listen(socket, resolve).once('error', reject));
process.stdout.write('up\n');
