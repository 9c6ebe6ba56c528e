// Child process of features-permission.kernel.test.ts, run with fewer capabilities: loads one
// object of bpf/build (argv[2], by name), and for bench_maps wraps its hash map with its codecs
// (the layout check reads the map's BTF back) and writes and reads one entry; prints what happened
// as JSON.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfObject } from '../../../src/bpf-object.js';
import { u32, u64 } from '../../../src/codec/int-codecs.js';
import { TypedMap } from '../../../src/typed-map.js';

const name = process.argv[2]!;
const path = join(fileURLToPath(new URL('../../../../../bpf/build/', import.meta.url)), `${name}.bpf.o`);
const out: Record<string, unknown> = {};
try {
  using obj = BpfObject.open(path);
  obj.load();
  out.loaded = true;
  if (name === 'bench_maps') {
    const map = TypedMap.wrap(obj.map('bench_hash'), u32, u64);
    map.set(7, 42n);
    out.read = String(map.get(7));
  }
} catch (err) {
  const e = err as { name: string; code: string; message: string; missingPrivilege?: string };
  out.error = { name: e.name, code: e.code, message: e.message, missingPrivilege: e.missingPrivilege };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
