// Shared vitest settings: unit suites need no privileges; kernel suites (*.kernel.test.ts) run real
// programs as root, one file at a time, and never skip (scripts/test.sh fails a run that skipped).
import { defineConfig } from 'vitest/config';

export const unitConfig = defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/*.kernel.test.ts', '**/node_modules/**', '**/dist/**'],
    environment: 'node',
    reporters: ['default', ['json', { outputFile: 'test-results/unit.json' }]],
  },
});

export const kernelConfig = defineConfig({
  test: {
    include: ['src/**/*.kernel.test.ts', 'test/**/*.kernel.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/kernel.json' }]],
  },
});
