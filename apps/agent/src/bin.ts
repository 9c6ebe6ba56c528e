#!/usr/bin/env -S node --max-semi-space-size=8 --expose-gc
// The application entry. The shebang caps V8's young generation (semi-spaces of 8 MB instead of
// growing to 64 MB, in this thread and in the plugins' threads): measured with the agent holding
// 100,000 rules (bench/agent-responsiveness), RSS 850 -> 613 MiB and the longest pause of the API
// during a 100,000-rule batch 81 -> 52 ms, at about the same batch rate. `node dist/bin.js` runs without
// it (the plugin threads still get the same cap: worker-plugin.ts). --expose-gc lets each plugin thread
// give back the memory of a large apply or listing once it is idle (IdleTrim in agent-kernel's
// plugin-worker.ts: V8 on Node 24 otherwise keeps it resident for ~100 s); nothing calls gc on
// this thread.
// Then the compile cache (compile-cache.ts), then reflect-metadata, once,
// before anything uses inversify. The CLI (a chunk of its own) is imported after them, and each
// command loads what it needs: the built-in plugins and sources a config selects (builtins.ts), the
// lab only for `demo`.
import { enableCompileCache } from './compile-cache.js';

enableCompileCache();
await import('reflect-metadata');

const { main } = await import('./cli.js');

process.exitCode = await main(process.argv.slice(2));
