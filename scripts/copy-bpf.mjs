// Copies compiled BPF objects into the calling package (run from its directory by its `build`
// script): `node ../../scripts/copy-bpf.mjs tc_tproxy` copies bpf/build/tc_tproxy.bpf.o to
// <package>/bpf/tc_tproxy.bpf.o, where the package's code finds it relative to its own module.
// Fails clearly when `make -C bpf` has not built it.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = process.cwd();
const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: node scripts/copy-bpf.mjs <object-name> [...]   (e.g. tc_tproxy for bpf/build/tc_tproxy.bpf.o)');
  process.exit(2);
}
for (const name of names) {
  const source = join(root, 'bpf', 'build', `${name}.bpf.o`);
  const target = join(pkg, 'bpf', `${name}.bpf.o`);
  if (!existsSync(source)) {
    console.error(`copy-bpf: ${relative(pkg, source)} is missing; build it first with \`make -C bpf\` at the repository root`);
    process.exit(1);
  }
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
  console.log(`copy-bpf: ${relative(pkg, target)} <- ${relative(pkg, source)}`);
}
