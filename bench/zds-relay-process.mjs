// bench/zds-relay's relay in a process of its own (as in the agent: the relay does not share an event
// loop with the node agent or the proxies): a ZdsProxy of @bpfsteer/source-istiod between a node
// agent's socket and the proxies' socket. Prints "ready" once it listens; SIGTERM stops it.
// usage: node bench/zds-relay-process.mjs <listen path> <upstream path>
import { ZdsProxy } from '@bpfsteer/source-istiod';

const [listenPath, upstreamPath] = process.argv.slice(2);
const proxy = new ZdsProxy({ listenPath, upstreamPath, backoff: { initialMs: 20, maxMs: 200 } });
proxy.start();
console.log('ready');
process.once('SIGTERM', () => void proxy.stop().then(() => process.exit(0)));
