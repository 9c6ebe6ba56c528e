// The responsiveness probe of bench/agent-responsiveness, run as its own process (forked, IPC) so
// that what it measures is the agent's stalls, not its own: polls each target (a GET on a unix
// socket, a fresh connection per request, as a CLI call makes) every `intervalMs` and reports every
// answer to the parent as { target, t, status, pid?, state? } (t: epoch ms, performance clock), and
// the first failure after an answer as { target, t, error }. A request still out when the next is
// due delays it (a stalled agent is asked again once it answered). Exits on SIGTERM, when the parent
// goes, or after `maxSeconds`.
// usage (by fork): stall-poller.mjs '{"targets":[{"name","socket","path"}],"intervalMs":20,"maxSeconds":600}'
import { performance } from 'node:perf_hooks';
import { unixRequest } from './unix-http.mjs';

const { targets, intervalMs = 20, maxSeconds = 600, timeoutMs = 60_000 } = JSON.parse(process.argv[2] ?? '{}');
if (!process.send) throw new Error('stall-poller.mjs runs forked with an IPC channel (bench/poll-stalls.mjs)');
if (!Array.isArray(targets) || targets.length === 0) throw new Error('stall-poller.mjs: no targets');

const now = () => performance.timeOrigin + performance.now();
const until = now() + maxSeconds * 1000;
let stopped = false;
const stop = () => {
  stopped = true;
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
setTimeout(stop, maxSeconds * 1000).unref();

async function poll({ name, socket, path }) {
  let failing = false;
  let next = now();
  while (!stopped && now() < until) {
    try {
      const res = await unixRequest(socket, 'GET', path, { timeoutMs });
      const agent = res.body?.agent; // the admin status names the agent's pid and state
      process.send({ target: name, t: now(), status: res.status, ...(agent && { pid: agent.pid, state: agent.state }) });
      failing = false;
    } catch (err) {
      if (!failing) process.send({ target: name, t: now(), error: err.code ?? err.message });
      failing = true;
    }
    next += intervalMs;
    const wait = next - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else next = now(); // late: poll now, and keep the interval from here
  }
}

process.send({ ready: true });
await Promise.all(targets.map(poll));
process.exit(0);
