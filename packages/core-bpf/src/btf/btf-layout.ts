/** A C type as BTF describes it, with typedefs and qualifiers resolved (see btf.ts for the reader). */
export type BtfLayout =
  | { readonly kind: 'int'; readonly name: string; readonly size: number; readonly signed: boolean }
  | { readonly kind: 'enum'; readonly name: string; readonly size: number }
  | { readonly kind: 'ptr'; readonly name: string; readonly size: number }
  | { readonly kind: 'float'; readonly name: string; readonly size: number }
  | {
      readonly kind: 'array';
      readonly name: string;
      readonly size: number;
      readonly count: number;
      readonly element: BtfLayout;
    }
  | {
      readonly kind: 'struct' | 'union';
      readonly name: string;
      readonly size: number;
      readonly members: readonly BtfMember[];
    }
  /** Anything a map key or value cannot usefully be (functions, forward declarations, ...). */
  | { readonly kind: 'other'; readonly name: string; readonly size: number; readonly btfKind: number };

export interface BtfMember {
  /** Empty for anonymous nested structs and unions. */
  readonly name: string;
  /** Byte offset (for bitfields: the byte holding the first bit). */
  readonly offset: number;
  /** Bitfield width in bits, 0 for ordinary members. */
  readonly bitSize: number;
  readonly type: BtfLayout;
}

/** A human name for a layout, e.g. "struct core_route", "__be32", "u8[4]". */
export function btfTypeName(layout: BtfLayout): string {
  if (layout.name) {
    return layout.kind === 'struct' || layout.kind === 'union' || layout.kind === 'enum'
      ? `${layout.kind} ${layout.name}`
      : layout.name;
  }
  if (layout.kind === 'array') return `${btfTypeName(layout.element)}[${layout.count}]`;
  return `anonymous ${layout.kind}`;
}
