// A tunnel as its own process (a node's tunnel in the kernel test's lab: run in that node's netns
// and cgroup): argv[2] is its config as JSON; prints "ready <addresses JSON>" once listening,
// stops on SIGTERM. Its original destinations come from getsockopt(SO_ORIGINAL_DST), the default.
import { Tunnel } from '../../dist/index.js';

const log = (level) => (obj, msg) => process.stderr.write(`${JSON.stringify({ level, msg, ...obj })}\n`);
const tunnel = new Tunnel(JSON.parse(process.argv[2]), { logger: { info: log('info'), warn: log('warn'), debug: () => undefined } });
await tunnel.start();
process.stdout.write(`ready ${JSON.stringify(tunnel.addresses)}\n`);
process.on('SIGTERM', async () => {
  process.stdout.write(`stats ${JSON.stringify(tunnel.stats)}\n`);
  await tunnel.stop();
  process.exit(0);
});
process.on('SIGUSR2', () => process.stdout.write(`stats ${JSON.stringify(tunnel.stats)}\n`));
