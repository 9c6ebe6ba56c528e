// Reads every vitest JSON report under packages/*/, apps/*/ and scripts/release/test-results and
// prints one closing line "tests: N passed, N failed, N skipped". Exits non-zero if anything
// failed, or if a kernel suite skipped a test or did not report at all (a skipped kernel test is a
// failure in CI).
// Every failed test is listed just above that line (suite, file, title, the first lines of its
// error), so the end of a CI log names the cause of a failure; above them, per kernel suite a line
// with this kernel's release, and the BPF programs loaded on it (core-bpf's every-object test).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { programsLoaded } from './programs-loaded.mjs';
import { reportCounts } from './vitest-reports.mjs';

const root = new URL('..', import.meta.url).pathname;
let passed = 0, failed = 0, skipped = 0;
const problems = [];
const failures = [];
/** one line per kernel suite, as the kernel matrix prints its own (scripts/kernel-matrix/summary.mjs) */
const kernelLines = [];
// the workspace packages, and the release scripts' tests (an nx project of its own)
const projects = [...['packages', 'apps'].flatMap((group) => readdirSync(join(root, group)).map((pkg) => [group, pkg])), ['scripts', 'release']];
for (const [group, pkg] of projects) {
  const dir = join(root, group, pkg);
  const scripts = projectScripts(dir);
  if (!scripts) continue;
  for (const suite of ['unit', 'kernel']) {
    const file = join(dir, 'test-results', `${suite}.json`);
    const script = suite === 'unit' ? 'test' : 'test:kernel';
    if (!scripts[script]) continue;
    if (!existsSync(file)) {
      if (suite === 'kernel' && hasKernelTests(dir)) problems.push(`${group}/${pkg}: kernel suite did not report`);
      continue;
    }
    const c = reportCounts(JSON.parse(readFileSync(file, 'utf8')), `${group}/${pkg} (${suite})`, root);
    failures.push(...c.failures);
    passed += c.passed;
    failed += c.failed;
    const s = c.skipped;
    skipped += s;
    if (suite === 'kernel' && s > 0) problems.push(`${group}/${pkg}: ${s} kernel test(s) skipped`);
    if (suite === 'kernel') kernelLines.push(`kernel ${release()}: ${group}/${pkg}: ${c.passed} passed, ${c.failed} failed, ${s} skipped`);
  }
}
/** A project's targets: its package.json scripts, or its project.json targets; undefined for no project. */
function projectScripts(dir) {
  for (const [file, field] of [['package.json', 'scripts'], ['project.json', 'targets']]) {
    if (existsSync(join(dir, file))) return JSON.parse(readFileSync(join(dir, file), 'utf8'))[field] ?? {};
  }
  return undefined;
}
function hasKernelTests(dir) {
  const walk = (d) => readdirSync(d, { withFileTypes: true }).some((e) =>
    e.name !== 'node_modules' && e.name !== 'dist' &&
    (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.kernel.test.ts')));
  return walk(dir);
}
const programs = programsLoaded(join(root, 'packages/core-bpf/test-results/programs-loaded.json'));
for (const line of kernelLines) console.log(line);
if (programs) console.log(programs.text);
for (const f of failures) console.log(f);
for (const p of problems) console.error(`test-summary: ${p}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
