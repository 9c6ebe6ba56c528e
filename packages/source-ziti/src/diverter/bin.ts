#!/usr/bin/env node
/**
 * bpfsteer-diverter (also installed as map_update and map_delete: the behaviour follows the name
 * it is run under). See diverter-usage.ts.
 */
import { invokedAs } from './parse-diverter-args.js';
import { runDiverter } from './run-diverter.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());

const code = await runDiverter(process.argv.slice(2), invokedAs(process.argv[1]), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
