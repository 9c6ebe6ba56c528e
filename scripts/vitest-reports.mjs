// Reading vitest's JSON reports: the counts of one report and a text per failure. Shared by
// scripts/test-summary.mjs (the host's suites) and scripts/kernel-matrix/summary.mjs (the guest's).

/**
 * `r`: a parsed vitest JSON report; `where`: how the failures name its suite; `root`: cut from file
 * names. A test file that failed without a failed test (an import error, a failing hook) counts as
 * one failure; pending and todo tests count as skipped.
 */
export function reportCounts(r, where, root) {
  const failures = [];
  const excerpt = (messages) => (messages ?? []).join('\n').split('\n').slice(0, 12).map((l) => `    ${l}`).join('\n');
  let failedFiles = 0;
  for (const file of r.testResults ?? []) {
    const name = file.name.replace(root, '');
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failedTests) failures.push(`FAILED ${where} ${name} > ${a.fullName ?? a.title}\n${excerpt(a.failureMessages)}`);
    if (file.status === 'failed' && failedTests.length === 0) {
      failedFiles += 1;
      failures.push(`FAILED ${where} ${name}\n${excerpt([file.message ?? ''])}`);
    }
  }
  return {
    passed: r.numPassedTests,
    failed: r.numFailedTests + failedFiles,
    skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
    failures,
  };
}
