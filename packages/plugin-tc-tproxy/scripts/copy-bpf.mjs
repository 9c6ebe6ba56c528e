// Copies the compiled BPF object into the package (bpf/tc_tproxy.bpf.o), where the code finds it
// relative to its own module. Fails clearly when `make -C bpf` has not built it.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(pkg, '..', '..', 'bpf', 'build', 'tc_tproxy.bpf.o');
const target = join(pkg, 'bpf', 'tc_tproxy.bpf.o');

if (!existsSync(source)) {
  console.error(`copy-bpf: ${relative(process.cwd(), source)} is missing; build it first with \`make -C bpf\` at the repository root`);
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`copy-bpf: ${relative(pkg, target)} <- ${relative(pkg, source)}`);
