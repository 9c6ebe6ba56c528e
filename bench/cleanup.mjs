// Cleanup that also runs when a bench is interrupted (SIGINT/SIGTERM/SIGHUP skip `finally` blocks):
// register synchronous, idempotent undo steps; they run last-registered first, once.
const steps = [];
let installed = false;

/** Registers an undo step; returns a function that runs it now (and unregisters it). */
export function onCleanup(fn) {
  const entry = { fn, done: false };
  steps.push(entry);
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(signal, () => {
        console.error(`\n${signal}: cleaning up`);
        runCleanup();
        process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
      });
    }
  }
  return () => runStep(entry);
}

function runStep(entry) {
  if (entry.done) return;
  entry.done = true;
  try {
    entry.fn();
  } catch (err) {
    console.error(`cleanup: ${err?.message ?? err}`);
  }
}

/** Runs every registered step not yet run, newest first. */
export function runCleanup() {
  for (let i = steps.length - 1; i >= 0; i--) runStep(steps[i]);
  steps.length = 0;
}
