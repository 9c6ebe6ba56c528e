// Hand-written layouts against their sources of truth: libbpf's option structs against the system
// headers (compiled with clang), the kernel info structs against the running kernel's BTF, and the
// map/program type tables against libbpf's own names.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Btf } from '../src/btf/btf.js';
import { checkLayout } from '../src/btf/layout-check.js';
import { ffiStructLayouts } from '../src/ffi/ffi-structs.js';
import { libbpf } from '../src/ffi/libbpf-api.js';
import { mapTypeNumbers } from '../src/map-type.js';
import { bpfMapInfoCodec, bpfProgInfoCodec } from '../src/object-info.js';
import { programTypeNumbers } from '../src/program-type.js';

describe('libbpf option structs', () => {
  it('match /usr/include/bpf (sizeof and every offsetof)', () => {
    const layouts = ffiStructLayouts();
    const lines = layouts.flatMap(({ name, members }) => [
      `printf("${name} %zu\\n", sizeof(struct ${name}));`,
      ...members.map((m) => `printf("${name}.${m.name} %zu\\n", offsetof(struct ${name}, ${m.name}));`),
    ]);
    const source = `#include <stdio.h>\n#include <stddef.h>\n#include <bpf/libbpf.h>\n#include <bpf/bpf.h>\nint main(void) {\n${lines.join('\n')}\nreturn 0;\n}\n`;
    const dir = mkdtempSync(`${tmpdir()}/cbpfa-layout-`);
    try {
      writeFileSync(`${dir}/l.c`, source);
      execFileSync('clang', ['-o', `${dir}/l`, `${dir}/l.c`]);
      const fromC = execFileSync(`${dir}/l`, { encoding: 'utf8' }).trim();
      const fromKoffi = layouts
        .flatMap(({ name, size, members }) => [`${name} ${size}`, ...members.map((m) => `${name}.${m.name} ${m.offset}`)])
        .join('\n');
      expect(fromKoffi).toBe(fromC);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kernel info structs', () => {
  it.each([
    ['bpf_map_info', bpfMapInfoCodec],
    ['bpf_prog_info', bpfProgInfoCodec],
  ] as const)('%s codec matches vmlinux BTF', (name, codec) => {
    const btf = Btf.vmlinux();
    try {
      const layout = btf.layout(btf.findType(name, 'struct'));
      expect(checkLayout(codec.layout, layout, name, { prefix: true })).toEqual([]);
    } finally {
      btf.close();
    }
  });
});

describe('type tables', () => {
  it('spell map types as libbpf does', () => {
    for (const [name, n] of mapTypeNumbers) {
      const libbpfName = libbpf.libbpf_bpf_map_type_str(n);
      if (libbpfName !== null) expect(`${n}:${name}`).toBe(`${n}:${libbpfName}`);
    }
  });

  it('spell program types as libbpf does', () => {
    for (const [name, n] of programTypeNumbers) {
      const libbpfName = libbpf.libbpf_bpf_prog_type_str(n);
      if (libbpfName !== null) expect(`${n}:${name}`).toBe(`${n}:${libbpfName}`);
    }
  });
});
