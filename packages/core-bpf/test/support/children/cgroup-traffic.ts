// Child process of attach-cgroup.kernel.test.ts. Waits for "go" on stdin (the parent moves it into
// the test cgroup first, and sockets belong to the cgroup they are created in), then:
// - sends a UDP datagram from a socket marked with SO_MARK to its own receiver over loopback;
// - connects over TCP to 127.0.0.1:FROM_PORT (rewritten by the connect4 program) and reads the echo.
// Prints one JSON line with what it saw. Usage: cgroup-traffic.ts MARK FROM_PORT
import net from 'node:net';
import { closeSync } from 'node:fs';
import { getSocketMark, setSocketMark } from '../../../src/socket-options.js';
import { bind4, localPort, recv, sendto4, socket4, SOCK_DGRAM } from '../raw-socket.js';

const mark = Number(process.argv[2]);
const fromPort = Number(process.argv[3]);

function echo(port: number): Promise<{ text: string; remotePort: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.on('connect', () => s.write('ping'));
    s.on('data', (d) => {
      text += d;
    });
    s.on('end', () => resolve({ text, remotePort: s.remotePort ?? 0 }));
    s.on('error', reject);
  });
}

process.stdin.once('data', async () => {
  const rx = socket4(SOCK_DGRAM);
  bind4(rx, '127.0.0.1', 0);
  const tx = socket4(SOCK_DGRAM);
  setSocketMark(tx, mark);
  const readBack = getSocketMark(tx);
  sendto4(tx, Buffer.from('marked'), '127.0.0.1', localPort(rx));
  const got = recv(rx).toString();
  closeSync(tx);
  closeSync(rx);
  let tcp: { text: string; remotePort: number } | { error: string };
  try {
    tcp = await echo(fromPort);
  } catch (err) {
    tcp = { error: String(err) };
  }
  process.stdout.write(`${JSON.stringify({ readBack, got, tcp })}\n`);
  process.exit(0);
});
process.stdout.write('waiting\n');
