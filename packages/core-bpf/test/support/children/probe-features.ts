// Child process of features-permission.kernel.test.ts, run without privileges: prints what the
// feature probes and requireFeature say, as JSON, for the features named on the command line.
import { probeFeature, requireFeature, type Feature } from '../../../src/features.js';

const out: Record<string, unknown> = {};
for (const f of process.argv.slice(2) as Feature[]) {
  let error: { name: string; code: string; message: string } | undefined;
  try {
    requireFeature(f);
  } catch (err) {
    const e = err as { name: string; code: string; message: string };
    error = { name: e.name, code: e.code, message: e.message };
  }
  out[f] = { probe: probeFeature(f), error };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
