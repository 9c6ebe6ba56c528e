// Starts bench/mesh-istiod.mjs (the fake Istiod) as a child process and talks to it (see that file
// for the protocol).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const program = fileURLToPath(new URL('./mesh-istiod.mjs', import.meta.url));

/** Resolves with { port, prepare(spec), push(id), next(predicate, what), stop() } once it listens. */
export async function startFakeIstiod() {
  const child = spawn(process.execPath, [program], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events = [];
  let waiters = [];
  let stderr = '';
  let exited;
  child.stderr.on('data', (d) => (stderr += d));
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line));
    wake();
  });
  child.once('exit', (code, signal) => {
    exited = `fake istiod exited ${code ?? signal}: ${stderr.trim()}`;
    wake();
  });
  /** Waits for (and consumes) the first event matching `predicate`. */
  const next = async (predicate, what, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = events.findIndex(predicate);
      if (i >= 0) return events.splice(i, 1)[0];
      if (exited) throw new Error(`${exited} (waiting for ${what})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake istiod: timed out waiting for ${what}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  const send = (command) => child.stdin.write(`${JSON.stringify(command)}\n`);
  try {
    const { port } = await next((e) => e.event === 'listening', 'it to listen', 10_000);
    return {
      port,
      next,
      async prepare(spec) {
        send({ op: 'prepare', ...spec });
        return next((e) => e.event === 'prepared' && e.id === spec.id, `response ${spec.id} to be prepared`);
      },
      push: (id) => send({ op: 'push', id }),
      stop: () => child.kill('SIGKILL'),
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
