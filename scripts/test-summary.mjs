// Reads every vitest JSON report under packages/*/ and apps/*/test-results and prints one closing
// line "tests: N passed, N failed, N skipped". Exits non-zero if anything failed, or if a kernel
// suite skipped a test or did not report at all (a skipped kernel test is a failure in CI).
// Every failed test is listed just above that line (suite, file, title, the first lines of its
// error), so the end of a CI log names the cause of a failure.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let passed = 0, failed = 0, skipped = 0;
const problems = [];
const failures = [];
for (const group of ['packages', 'apps']) {
  for (const pkg of readdirSync(join(root, group))) {
    const dir = join(root, group, pkg);
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const scripts = JSON.parse(readFileSync(manifest, 'utf8')).scripts ?? {};
    for (const suite of ['unit', 'kernel']) {
      const file = join(dir, 'test-results', `${suite}.json`);
      const script = suite === 'unit' ? 'test' : 'test:kernel';
      if (!scripts[script]) continue;
      if (!existsSync(file)) {
        if (suite === 'kernel' && hasKernelTests(dir)) problems.push(`${group}/${pkg}: kernel suite did not report`);
        continue;
      }
      const r = JSON.parse(readFileSync(file, 'utf8'));
      failures.push(...failuresOf(r, `${group}/${pkg} (${suite})`));
      passed += r.numPassedTests;
      failed += r.numFailedTests + filesFailedWithoutTests(r);
      const s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      skipped += s;
      if (suite === 'kernel' && s > 0) problems.push(`${group}/${pkg}: ${s} kernel test(s) skipped`);
    }
  }
}
/** test files that failed without a failed test (e.g. an import error): each counts as one failure */
function filesFailedWithoutTests(r) {
  return (r.testResults ?? []).filter((t) => t.status === 'failed' && !t.assertionResults?.some((a) => a.status === 'failed')).length;
}
/** one text per failed test, or per failed file without a failed test */
function failuresOf(r, where) {
  const out = [];
  const excerpt = (messages) => (messages ?? []).join('\n').split('\n').slice(0, 12).map((l) => `    ${l}`).join('\n');
  for (const file of r.testResults ?? []) {
    const name = file.name.replace(root, '');
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failedTests) out.push(`FAILED ${where} ${name} > ${a.fullName ?? a.title}\n${excerpt(a.failureMessages)}`);
    if (file.status === 'failed' && failedTests.length === 0) out.push(`FAILED ${where} ${name}\n${excerpt([file.message ?? ''])}`);
  }
  return out;
}
function hasKernelTests(dir) {
  const walk = (d) => readdirSync(d, { withFileTypes: true }).some((e) =>
    e.name !== 'node_modules' && e.name !== 'dist' &&
    (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.kernel.test.ts')));
  return walk(dir);
}
for (const f of failures) console.log(f);
for (const p of problems) console.error(`test-summary: ${p}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
