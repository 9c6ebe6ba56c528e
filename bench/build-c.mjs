// Compiles a bench helper bench/c/<name>.c with clang into bench/out/<name> (or <name>.so).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Returns the path of the built executable (or shared object with `shared`). */
export function buildC(name, { shared = false, libs = [] } = {}) {
  mkdirSync(`${here}out`, { recursive: true });
  const out = `${here}out/${name}${shared ? '.so' : ''}`;
  const flags = shared ? ['-shared', '-fPIC'] : [];
  execFileSync('clang', ['-O2', '-Wall', ...flags, '-o', out, `${here}c/${name}.c`, ...libs], { stdio: 'inherit' });
  return out;
}
