// The agent bench/tproxy-install measures, for when `bpfsteer run` has no tc-tproxy/ziti builtins:
// plugin tc-tproxy + source ziti composed with createAgent, in this (child) process.
// usage: node bench/tproxy-agent.mjs <config.json>   prints "ready" once started; SIGTERM stops it
// (pins removed) and exits 0.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createAgent, createLogger } from '@bpfsteer/agent-kernel';
import { tcTproxyPlugin } from '@bpfsteer/plugin-tc-tproxy';
import { zitiSource } from '@bpfsteer/source-ziti';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const logger = createLogger({ level: config.agent?.logLevel ?? 'warn', format: 'json' });
const agent = createAgent({ plugins: [tcTproxyPlugin], sources: [zitiSource], config, logger });
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  agent.stop({ keepPinned: false }).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
});
await agent.start();
const keepAlive = setInterval(() => undefined, 1 << 30);
void keepAlive;
console.log('ready');
