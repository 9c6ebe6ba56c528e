/**
 * Every codec of src/map-codecs.ts against the C compiler's view of bpf/tc_tproxy.h: a small C
 * program (built with clang) prints sizeof and every member's offsetof and size. This covers the
 * ring buffer record struct tctp_event, which no map's BTF describes, and backs up the BTF check
 * that wrapping the maps performs at load.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Codec } from '@bpfsteer/core-bpf';
import { afterAll, describe, expect, it } from 'vitest';
import * as m from '../src/map-codecs.js';

const STRUCTS: Record<string, Codec<unknown>> = {
  tctp_dst_key: m.dstKeyCodec,
  tctp_src_key: m.srcKeyCodec,
  tctp_host_key: m.hostKeyCodec,
  tctp_node: m.nodeCodec,
  tctp_port_range: m.portRangeCodec,
  tctp_dst_value: m.dstValueCodec,
  tctp_port_key: m.portKeyCodec,
  tctp_port_value: m.portValueCodec,
  tctp_rule: m.ruleCodec,
  tctp_counter: m.counterCodec,
  tctp_iface: m.ifaceCodec,
  tctp_if_addr_key: m.ifAddrKeyCodec,
  tctp_if_stats: m.ifStatsCodec,
  tctp_ct_key: m.ctKeyCodec,
  tctp_ct_value: m.ctValueCodec,
  tctp_event: m.eventCodec,
  tctp_summary: m.summaryCodec,
};

interface Field {
  name: string;
  offset: number;
  size: number;
}

function codecFields(codec: Codec<unknown>): Field[] {
  if (codec.layout.kind !== 'struct') throw new Error('not a struct codec');
  return codec.layout.fields.map((f) => ({ name: f.cName, offset: f.offset, size: f.layout.size }));
}

const dir = mkdtempSync(join(tmpdir(), 'tctp-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the C compiler says: { struct: { size, fields } } for every codec's struct and member names. */
function cLayouts(): Record<string, { size: number; fields: Field[] }> {
  const header = fileURLToPath(new URL('../../../bpf/tc_tproxy.h', import.meta.url));
  const lines: string[] = [];
  for (const [name, codec] of Object.entries(STRUCTS)) {
    lines.push(`printf("%s\\"${name}\\": {\\"size\\": %zu, \\"fields\\": [", first ? "" : ",", sizeof(struct ${name})); first = 0;`);
    codecFields(codec).forEach((f, i) => {
      lines.push(
        `printf("%s{\\"name\\": \\"${f.name}\\", \\"offset\\": %zu, \\"size\\": %zu}", ${i === 0 ? '""' : '","'}, ` +
          `offsetof(struct ${name}, ${f.name}), sizeof(((struct ${name} *)0)->${f.name}));`,
      );
    });
    lines.push('printf("]}");');
  }
  const source = `#include <stddef.h>\n#include <stdio.h>\n#include "${header}"\nint main(void) {\nint first = 1;\nprintf("{");\n${lines.join('\n')}\nprintf("}\\n");\nreturn 0;\n}\n`;
  writeFileSync(join(dir, 'layout.c'), source);
  // a native build: clang finds this machine's own multiarch headers (asm/types.h) by itself
  const cc = spawnSync('clang', ['-o', join(dir, 'layout'), join(dir, 'layout.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`clang failed: ${cc.stderr}`);
  const run = spawnSync(join(dir, 'layout'), { encoding: 'utf8' });
  return JSON.parse(run.stdout);
}

describe('codecs match bpf/tc_tproxy.h as compiled', () => {
  const c = cLayouts();
  it.each(Object.keys(STRUCTS))('struct %s', (name) => {
    expect(STRUCTS[name].size).toBe(c[name].size);
    expect(codecFields(STRUCTS[name])).toEqual(c[name].fields);
  });
});
