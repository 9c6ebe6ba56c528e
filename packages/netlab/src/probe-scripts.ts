/**
 * Small Node programs run inside a netns (via nsenter) to put real TCP/UDP through a lab.
 * Each takes its parameters as argv and prints one JSON line.
 */

/** argv: proto host port. Echoes "echo:<data>" back; prints {"ready":true} once listening. */
export const SERVER_SCRIPT = String.raw`
const [proto, host, port] = process.argv.slice(1);
if (proto === 'tcp') {
  const net = require('node:net');
  const srv = net.createServer((s) => { s.on('data', (d) => s.end('echo:' + d)); s.on('error', () => {}); });
  srv.listen({ host, port: Number(port) }, () => console.log(JSON.stringify({ ready: true, port: srv.address().port })));
} else {
  const dgram = require('node:dgram');
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (m, r) => sock.send('echo:' + m, r.port, r.address));
  sock.bind(Number(port), host, () => console.log(JSON.stringify({ ready: true, port: sock.address().port })));
}
process.on('SIGTERM', () => process.exit(0));
`;

/** argv: proto host port payload timeoutMs [localAddress]. Prints {"ok":bool,"reply"?:string,"error"?:string}. */
export const CLIENT_SCRIPT = String.raw`
const [proto, host, port, payload, timeoutMs, localAddress] = process.argv.slice(1);
const done = (r) => { console.log(JSON.stringify(r)); process.exit(0); };
setTimeout(() => done({ ok: false, error: 'timeout' }), Number(timeoutMs)).unref();
if (proto === 'tcp') {
  const net = require('node:net');
  const opts = { host, port: Number(port) };
  if (localAddress) opts.localAddress = localAddress;
  const s = net.connect(opts, () => s.write(payload));
  let buf = '';
  s.on('data', (d) => { buf += d; });
  s.on('end', () => done({ ok: buf === 'echo:' + payload, reply: buf }));
  s.on('error', (e) => done({ ok: false, error: e.code || e.message }));
} else {
  const dgram = require('node:dgram');
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (m) => done({ ok: String(m) === 'echo:' + payload, reply: String(m) }));
  sock.on('error', (e) => done({ ok: false, error: e.code || e.message }));
  const send = () => sock.send(payload, Number(port), host);
  if (localAddress) sock.bind(0, localAddress, send); else send();
}
`;
