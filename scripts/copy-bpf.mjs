// Copies compiled BPF objects into the calling package (run from its directory by its `build`
// script): the objects its package.json declares in `bpfsteer.bpfObjects` (e.g. "bpf/tc_tproxy.bpf.o":
// bpf/build/tc_tproxy.bpf.o is copied to <package>/bpf/tc_tproxy.bpf.o, where the package's code
// finds it relative to its own module). The same list is what the package's prepack check
// (scripts/release/check-pack.mjs) requires. Fails clearly when `make -C bpf` has not built one.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = process.cwd();
const objects = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).bpfsteer?.bpfObjects ?? [];
if (objects.length === 0) {
  console.error('copy-bpf: package.json declares no `bpfsteer.bpfObjects` (e.g. ["bpf/tc_tproxy.bpf.o"])');
  process.exit(2);
}
for (const object of objects) {
  const source = join(root, 'bpf', 'build', basename(object));
  const target = join(pkg, object);
  if (!existsSync(source)) {
    console.error(`copy-bpf: ${relative(pkg, source)} is missing; build it first with \`make -C bpf\` at the repository root`);
    process.exit(1);
  }
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
  console.log(`copy-bpf: ${relative(pkg, target)} <- ${relative(pkg, source)}`);
}
