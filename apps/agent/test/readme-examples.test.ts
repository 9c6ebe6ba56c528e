/**
 * The examples of the READMEs (the repository's and every package's), as
 * scripts/release/readme-examples.mjs defines them: every agent config (a ```yaml block with
 * `plugins:` or `sources:` at its top level) passes `bpfsteer validate`, and every complete
 * TypeScript example (a ```ts block that starts with an import) type-checks with tsc against the
 * built packages (nx builds them before this suite). scripts/release/check-packages.sh checks the
 * same against the packed and installed tarballs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmes, writeExamples } from '../../../scripts/release/readme-examples.mjs';
import { repoRoot } from '../../../scripts/release/workspace-packages.mjs';
import { main } from '../src/cli.js';
import { textSink } from './support/text-sink.js';

interface Example {
  file: string;
  source: string;
}

// inside the workspace, so that the examples' imports resolve to the built packages
const dir = join(import.meta.dirname, '..', 'test-results', 'readme-examples');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const { configs, programs } = writeExamples(dir, readmes()) as { configs: Example[]; programs: Example[] };

describe('README agent configs', () => {
  it('are there to check', () => {
    expect(configs.length).toBeGreaterThanOrEqual(8);
  });

  it.each(configs)('$source passes bpfsteer validate', async ({ file }) => {
    const stdout = textSink();
    const stderr = textSink();
    const code = await main(['validate', '-c', file], { stdout: stdout.stream, stderr: stderr.stream });
    expect(stderr.text()).toBe('');
    expect(code).toBe(0);
    expect(stdout.text()).toContain(': valid');
  });
});

describe('README TypeScript examples', () => {
  it('type-check against the built packages', () => {
    expect(programs.length).toBeGreaterThanOrEqual(15);
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
    // examples/<name>.mts(12,5): error ... -> packages/x/README.md:40 (col 5): error ...
    const errors = `${run.stdout}${run.stderr}`.replace(/examples\/([^(\s]+)\.mts\((\d+),(\d+)\)/g, (whole, name: string, row: string, col: string) => {
      const example = programs.find((p) => basename(p.file) === `${name}.mts`);
      if (!example) return whole;
      const [readme, fence] = example.source.split(/:(?=\d+$)/);
      return `${readme}:${Number(fence) + Number(row)} (col ${col})`;
    });
    expect(errors).toBe('');
    expect(run.status).toBe(0);
  }, 120_000);
});
