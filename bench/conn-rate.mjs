// A connection-rate client and its server, run inside a lab's netns by bench/connect-tunnel.bench.mjs.
//   node conn-rate.mjs server <host> <port>          answers each connection "ok" once it half-closed
//   node conn-rate.mjs client <host> <port> <seconds> <concurrency>
//     opens connections for <seconds> (each: connect, send, half-close, read to the end), <concurrency>
//     at a time; prints {"conns":N,"errors":E,"seconds":S}
import { connect, createServer } from 'node:net';

const [mode, host, portText, secondsText, concurrencyText] = process.argv.slice(2);
const port = Number(portText);
if (mode === 'server') {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.resume();
    s.on('end', () => s.end('ok'));
  });
  server.listen(port, host, () => console.log('ready'));
} else {
  const until = Date.now() + Number(secondsText) * 1000;
  let conns = 0;
  let errors = 0;
  const once = () =>
    new Promise((resolve) => {
      const s = connect(port, host);
      s.on('connect', () => s.end('x'));
      s.on('data', () => undefined);
      s.on('end', () => {
        conns += 1;
        resolve();
      });
      s.on('error', () => {
        errors += 1;
        resolve();
      });
    });
  const worker = async () => {
    while (Date.now() < until) await once();
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: Number(concurrencyText) }, worker));
  console.log(JSON.stringify({ conns, errors, seconds: (Date.now() - started) / 1000 }));
}
