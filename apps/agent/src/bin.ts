#!/usr/bin/env -S node --max-semi-space-size=8
// The application entry. The shebang caps V8's young generation (semi-spaces of 8 MB instead of
// growing to 64 MB, in this thread and in the plugins' threads): measured with the agent holding
// 100,000 rules (bench/agent-responsiveness), RSS 850 -> 613 MiB and the longest pause of the API
// during a 100,000-rule batch 81 -> 52 ms, at about the same batch rate. `node dist/bin.js` runs without
// it (the plugin threads still get the same cap: worker-plugin.ts). No --expose-gc here: `run` exposes
// gc to the plugins' threads itself (expose-gc.ts), as the flag cost every command ~10 ms at start.
// Then the compile cache (compile-cache.ts). The CLI (a chunk of its own) is imported after it: the
// command declarations and commander, nothing else, so `--help`, `--version` and `<command> --help`
// load no more than that (bench/cli-start.bench.mjs). Each command's action imports
// its implementation when it runs: `validate` the config reading of agent-kernel (`/config`: zod,
// yaml) and the plugins and sources a config selects (builtin-factories.ts), `run` the agent
// (agent-kernel with inversify, whose reflect-metadata it bundles), the lab only for `demo`.
import { enableCompileCache } from './compile-cache.js';

enableCompileCache();

const { main } = await import('./cli.js');

process.exitCode = await main(process.argv.slice(2));
