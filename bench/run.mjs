// Runs every benchmark in turn (each prints its own table). Usage: node bench/run.mjs [name ...]
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
for (const file of benches) {
  console.log(`\n== ${file}`);
  execFileSync(process.execPath, [`${here}${file}`], { stdio: 'inherit' });
}
