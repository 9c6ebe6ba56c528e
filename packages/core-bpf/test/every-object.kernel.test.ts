// Every BPF program of the project loads on the running kernel: each bpf/*.bpf.c has its object in
// bpf/build, and each program of each object (including any a loader would leave out) passes the
// verifier. The list goes to test-results/programs-loaded.json with the kernel's release: the kernel
// matrix (scripts/test-kernel-matrix.sh) runs this same test on Debian 12's 6.1, so a program added
// to bpf/ is loaded there too, or the stage fails.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BpfObject } from '../src/bpf-object.js';

const BPF_DIR = fileURLToPath(new URL('../../../bpf/', import.meta.url));
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const sources = readdirSync(BPF_DIR)
  .filter((f) => f.endsWith('.bpf.c'))
  .map((f) => f.slice(0, -'.bpf.c'.length))
  .sort();

interface Loaded {
  readonly object: string;
  readonly program: string;
  readonly type: string;
  readonly section: string;
}
const loaded: Loaded[] = [];

describe(`every BPF object loads on kernel ${release()}`, () => {
  it('finds the sources', () => {
    expect(sources.length).toBeGreaterThan(0);
  });

  it.each(sources)('%s: every program passes the verifier', (name) => {
    using obj = BpfObject.open(join(BPF_DIR, 'build', `${name}.bpf.o`));
    const specs = obj.programSpecs();
    expect(specs.length).toBeGreaterThan(0);
    // programs a loader leaves out by default are loaded here too
    obj.load({ programs: Object.fromEntries(specs.map((s) => [s.name, { autoload: true }])) });
    for (const spec of specs) {
      const program = obj.program(spec.name);
      expect(program.fd).toBeGreaterThan(0);
      loaded.push({ object: name, program: spec.name, type: spec.type, section: spec.sectionName });
    }
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'programs-loaded.json'), `${JSON.stringify({ kernel: release(), programs: loaded }, null, 2)}\n`);
  });
});
