/**
 * Compares a codec's layout with the C type from BTF and lists every disagreement (pure).
 * Struct fields are matched to C members by name (case and underscores ignored, or `cNames`); every
 * C member must be decoded by a field, fall inside a `skip(n)`, or be padding-named inside a `pad(n)`.
 */
import type { CodecLayout } from '../codec/codec.js';
import { type BtfLayout, type BtfMember, btfTypeName } from './btf-layout.js';

const paddingName = /pad|reserved|rsvd|unused|spare/i;

function normalize(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

/** Members of anonymous nested structs/unions lifted into their parent, with absolute offsets. */
export function flattenMembers(members: readonly BtfMember[], base = 0): BtfMember[] {
  const out: BtfMember[] = [];
  for (const m of members) {
    if (m.name === '' && (m.type.kind === 'struct' || m.type.kind === 'union')) {
      out.push(...flattenMembers(m.type.members, base + m.offset));
    } else {
      out.push({ ...m, offset: base + m.offset });
    }
  }
  return out;
}

function describeCodec(layout: CodecLayout): string {
  switch (layout.kind) {
    case 'int':
      return `${layout.signed ? 'i' : 'u'}${layout.size * 8}`;
    case 'array':
      return `${describeCodec(layout.element)}[${layout.count}]`;
    default:
      return `${layout.kind}(${layout.size} bytes)`;
  }
}

export interface CheckOptions {
  /**
   * The codec describes only the first `codec.size` bytes of a (top-level) struct that may be larger,
   * as for kernel info structs that grow at their end.
   */
  readonly prefix?: boolean;
}

/** Every way `codec` disagrees with `btf`; empty when they describe the same bytes. */
export function checkLayout(codec: CodecLayout, btf: BtfLayout, path: string, options: CheckOptions = {}): string[] {
  const problems: string[] = [];
  if (options.prefix && codec.kind === 'struct' && (btf.kind === 'struct' || btf.kind === 'union') && codec.size <= btf.size) {
    return checkStruct(codec, btf, path, codec.size);
  }
  if (codec.size !== btf.size) {
    problems.push(`${path}: codec is ${codec.size} bytes (${describeCodec(codec)}), C type ${btfTypeName(btf)} is ${btf.size} bytes`);
    return problems;
  }
  switch (codec.kind) {
    case 'bytes':
    case 'skip':
    case 'pad':
      return problems;
    case 'int':
      if (btf.kind !== 'int' && btf.kind !== 'enum' && btf.kind !== 'ptr') {
        problems.push(`${path}: codec is an integer (${describeCodec(codec)}), C type is ${btfTypeName(btf)}`);
      }
      return problems;
    case 'array':
      if (btf.kind !== 'array') {
        problems.push(`${path}: codec is an array (${describeCodec(codec)}), C type is ${btfTypeName(btf)}`);
      } else if (btf.count !== codec.count) {
        problems.push(`${path}: codec has ${codec.count} elements, C array ${btfTypeName(btf)} has ${btf.count}`);
      } else {
        problems.push(...checkLayout(codec.element, btf.element, `${path}[]`));
      }
      return problems;
    case 'struct':
      if (btf.kind !== 'struct' && btf.kind !== 'union') {
        problems.push(`${path}: codec is a struct, C type is ${btfTypeName(btf)}`);
        return problems;
      }
      return checkStruct(codec, btf, path);
  }
}

function checkStruct(
  codec: Extract<CodecLayout, { kind: 'struct' }>,
  btf: Extract<BtfLayout, { kind: 'struct' | 'union' }>,
  path: string,
  prefixSize?: number,
): string[] {
  const problems: string[] = [];
  const members = flattenMembers(btf.members).filter((m) => prefixSize === undefined || m.offset < prefixSize);
  const byName = new Map(members.filter((m) => m.name).map((m) => [normalize(m.name), m]));
  const matched = new Set<BtfMember>();
  for (const field of codec.fields) {
    if (field.layout.kind === 'pad' || field.layout.kind === 'skip') continue;
    const fieldPath = `${path}.${field.name}`;
    const member = byName.get(normalize(field.cName));
    if (!member) {
      const names = members.map((m) => m.name || '(anonymous)').join(', ');
      problems.push(`${fieldPath}: ${btfTypeName(btf)} has no member "${field.cName}" (members: ${names})`);
      continue;
    }
    matched.add(member);
    if (member.bitSize !== 0) {
      problems.push(`${fieldPath}: C member ${member.name} is a ${member.bitSize}-bit bitfield, which codecs cannot express`);
    } else if (member.offset !== field.offset) {
      problems.push(`${fieldPath}: codec offset ${field.offset}, C member ${member.name} is at offset ${member.offset}`);
    } else {
      problems.push(...checkLayout(field.layout, member.type, fieldPath));
    }
  }
  for (const member of members) {
    if (matched.has(member)) continue;
    const end = member.offset + Math.max(1, member.bitSize ? Math.ceil(member.bitSize / 8) : member.type.size);
    const cover = codec.fields.find(
      (f) => (f.layout.kind === 'pad' || f.layout.kind === 'skip') && f.offset <= member.offset && end <= f.offset + f.layout.size,
    );
    const label = member.name || '(anonymous)';
    if (!cover) {
      problems.push(`${path}: C member ${label} (offset ${member.offset}, ${btfTypeName(member.type)}) is not decoded by any codec field`);
    } else if (cover.layout.kind === 'pad' && !paddingName.test(member.name)) {
      problems.push(
        `${path}.${cover.name}: pad(${cover.layout.size}) covers C member ${label} (offset ${member.offset}); ` +
          `decode it, or use skip(n) to ignore it on purpose`,
      );
    }
  }
  return problems;
}
