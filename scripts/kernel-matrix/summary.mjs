// What the kernel matrix's guest ran (scripts/kernel-matrix/suite.sh), read on the host from its
// results share: one line per suite (passed, failed, skipped), the BPF programs loaded on the guest's
// kernel, and every failure. Exits non-zero if a suite failed, skipped a test or wrote no report, or
// if a program of bpf/ was not loaded there (a program added without passing the old verifier).
//   node scripts/kernel-matrix/summary.mjs <results directory>
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { programsLoaded, projectPrograms } from '../programs-loaded.mjs';
import { reportCounts } from '../vitest-reports.mjs';

const out = process.argv[2];
if (!out || !existsSync(out)) {
  console.error('usage: node scripts/kernel-matrix/summary.mjs <results directory>');
  process.exit(2);
}
const root = new URL('../..', import.meta.url).pathname;
const problems = [];
const failures = [];
const programs = programsLoaded(join(out, 'programs-loaded.json'));
const kernel = programs?.kernel ?? 'the guest kernel';
const reports = existsSync(join(out, 'results')) ? readdirSync(join(out, 'results')).filter((f) => f.endsWith('.json')) : [];
if (reports.length === 0) problems.push('no suite reported');
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const file of reports.sort((a, b) => parseInt(a, 10) - parseInt(b, 10))) {
  const suite = file.replace(/^\d+-/, '').replace(/\.json$/, '');
  const c = reportCounts(JSON.parse(readFileSync(join(out, 'results', file), 'utf8')), `${kernel} ${suite}`, root);
  console.log(`kernel ${kernel}: ${suite}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  failures.push(...c.failures);
  for (const k of Object.keys(totals)) totals[k] += c[k];
  if (c.skipped > 0) problems.push(`${suite}: ${c.skipped} test(s) skipped`);
}
if (programs) {
  console.log(programs.text);
  const missing = (await projectPrograms()).filter((p) => !programs.loaded.includes(p));
  if (missing.length > 0) problems.push(`not loaded on ${kernel}: ${missing.join(', ')}`);
} else {
  problems.push('the every-object test wrote no programs-loaded.json');
}
for (const f of failures) console.log(f);
for (const p of problems) console.error(`kernel-matrix: ${p}`);
console.log(`kernel ${kernel}: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || problems.length > 0 ? 1 : 0);
