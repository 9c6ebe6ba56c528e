// Copies the compiled BPF object into the package (bpf/sk_lookup_mesh.bpf.o), where the code finds it
// relative to its own module. Fails clearly when `make -C bpf` has not built it.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(pkg, '..', '..', 'bpf', 'build', 'sk_lookup_mesh.bpf.o');
const target = join(pkg, 'bpf', 'sk_lookup_mesh.bpf.o');

if (!existsSync(source)) {
  console.error(`copy-bpf: ${relative(process.cwd(), source)} is missing; build it first with \`make -C bpf\` at the repository root`);
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`copy-bpf: ${relative(pkg, target)} <- ${relative(pkg, source)}`);
