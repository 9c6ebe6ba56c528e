// The agent bench/tproxy-install measures, for when `bpfsteer run` has no tc-tproxy/ziti builtins:
// plugin tc-tproxy + source ziti composed with createAgent, in this (child) process.
// usage: node bench/tproxy-agent.mjs <config.json> [--keep-pinned] [--take-over]   prints "ready" once
// started; SIGTERM stops it (pins removed; kept in force with --keep-pinned, as `bpfsteer run
// --keep-pinned`) and exits 0; it exits 0 too after handing over to an agent taking over. With BPFSTEER_BENCH_CPU_PROFILE=<file> it records a CPU profile from "ready" to SIGTERM
// (node:inspector, started after the BPF load: `node --cpu-prof` breaks BPF loads).
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createAgent, createLogger } from '@bpfsteer/agent-kernel';
import { tcTproxyPlugin } from '@bpfsteer/plugin-tc-tproxy';
import { zitiSource } from '@bpfsteer/source-ziti';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const keepPinned = process.argv.slice(3).includes('--keep-pinned');
const takeOver = process.argv.slice(3).includes('--take-over');
const logger = createLogger({ level: config.agent?.logLevel ?? 'warn', format: 'json' });
const agent = createAgent({ plugins: [tcTproxyPlugin], sources: [zitiSource], config, logger });
let stopping = false;
const profileFile = process.env.BPFSTEER_BENCH_CPU_PROFILE;
let profiler;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  const profiled = profiler
    ? profiler.post('Profiler.stop').then(({ profile }) => writeFileSync(profileFile, JSON.stringify(profile)))
    : Promise.resolve();
  profiled.then(() => agent.stop({ keepPinned })).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
});
agent.handedOver.then(() => agent.stop()).then(() => process.exit(0));
await agent.start({ takeOver });
if (profileFile) {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
const keepAlive = setInterval(() => undefined, 1 << 30);
void keepAlive;
console.log('ready');
