// bench/map-update: TypeScript map updates through @bpfsteer/core-bpf (single and batch) against a
// plain C loop with libbpf (bench/c/map_update.c) on identical kernel maps, in the same run.
// Prints a table of ns per element and ratios. Usage: node bench/map-update.mjs [elements] [rounds]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfObject, TypedMap, codecs } from '@bpfsteer/core-bpf';

const { struct, u32, u64, ipv4 } = codecs;
import { printTable } from './table.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 3);
const object = `${here}../bpf/build/bench_maps.bpf.o`;

mkdirSync(`${here}out`, { recursive: true });
execFileSync('gcc', ['-O2', '-o', `${here}out/map_update`, `${here}c/map_update.c`, '-lbpf']);
const c = new Map(
  execFileSync(`${here}out/map_update`, [String(n), String(rounds)], { encoding: 'utf8' })
    .trim().split('\n').map((l) => JSON.parse(l)).map((r) => [`${r.map}/${r.mode}`, r.nsPerElement]),
);

const lpmKey = struct({ prefixlen: u32, addr: ipv4 });
const cases = {
  hash: { map: 'bench_hash', key: u32, makeKey: (i) => i },
  lpm_trie: { map: 'bench_lpm', key: lpmKey, makeKey: (i) => ({ prefixlen: 32, addr: ipv4str(0x0a000000 + i) }) },
};
function ipv4str(v) {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function measure(kind, mode) {
  const spec = cases[kind];
  const entries = Array.from({ length: n }, (_, i) => [spec.makeKey(i), BigInt(i)]);
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const obj = BpfObject.open(object);
    try {
      obj.load();
      const map = TypedMap.wrap(obj.map(spec.map), spec.key, u64);
      const t0 = process.hrtime.bigint();
      if (mode === 'batch') map.setMany(entries);
      else for (const [k, v] of entries) map.set(k, v);
      const dt = Number(process.hrtime.bigint() - t0) / n;
      if (map.count() !== n) throw new Error(`${kind}: expected ${n} entries, found ${map.count()}`);
      best = Math.min(best, dt);
    } finally {
      obj.close();
    }
  }
  return best;
}

const rows = [];
for (const kind of Object.keys(cases)) {
  const cSingle = c.get(`${kind}/single`);
  const cBatch = c.get(`${kind}/batch`);
  const tsSingle = measure(kind, 'single');
  const tsBatch = measure(kind, 'batch');
  rows.push([kind, 'single', cSingle, tsSingle, tsSingle / cSingle, '']);
  rows.push([kind, 'batch', cBatch, tsBatch, tsBatch / cBatch, tsBatch / cSingle]);
}
printTable(
  `map updates, ${n} elements, best of ${rounds} (ns per element)`,
  ['map', 'mode', 'C libbpf', 'TS core-bpf', 'TS/C same mode', 'TS batch / C loop'],
  rows,
);
