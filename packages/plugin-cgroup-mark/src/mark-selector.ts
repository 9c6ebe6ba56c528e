/**
 * Which packets count as the mesh proxy's own: `(skb->mark & mask) === value`. Presets name the
 * marks of the Istio ambient data planes (bpf/cgroup_mark.h, seed 004); a custom selector is
 * given as numbers or as "value/mask" text like iptables' `--mark`.
 */
import { InvalidArgumentError } from '@bpfsteer/core-bpf';

export interface MarkMatch {
  readonly value: number;
  readonly mask: number;
}

export const MARK_PRESETS = {
  /** in-pod ambient (Istio >= 1.21): ztunnel marks every socket it opens in a pod 0x539 under 0xfff */
  'ambient-inpod': { value: 0x539, mask: 0xfff },
  /** node-level ambient (Istio <= 1.20): ztunnel's own packets carry the "connection skip" mark 0x220 */
  'ambient-legacy-connskip': { value: 0x220, mask: 0x220 },
  /** node-level ambient: any packet with the skip bit 0x200 (0x200 and 0x220 alike) */
  'ambient-legacy-skip': { value: 0x200, mask: 0x200 },
} as const satisfies Record<string, MarkMatch>;

export type MarkPreset = keyof typeof MARK_PRESETS;

export const DEFAULT_MARK_PRESET: MarkPreset = 'ambient-inpod';

/** A preset name, "value/mask" text (mask optional: all bits), or the numbers. */
export type MarkSpec = MarkPreset | string | { readonly value: number | string; readonly mask?: number | string };

const ACCEPTED = `a preset (${Object.keys(MARK_PRESETS).join(', ')}), "value/mask" like "0x539/0xfff", or { value, mask }`;

/** An unsigned 32-bit number given as an integer or as decimal / 0x-hex text. */
export function parseMarkNumber(input: number | string, what: string): number {
  let n: number;
  if (typeof input === 'number') n = input;
  else if (typeof input === 'string' && /^(0x[0-9a-f]{1,8}|[0-9]{1,10})$/i.test(input.trim())) n = Number(input.trim());
  else n = NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(input)} is not a 32-bit mark: expected an integer 0..0xffffffff (decimal or 0x hex)`);
  }
  return n;
}

/** The selector for `spec`; throws InvalidArgumentError naming what is wrong and what is accepted. */
export function resolveMark(spec: MarkSpec): MarkMatch {
  let value: number;
  let mask: number;
  if (typeof spec === 'string') {
    if (Object.hasOwn(MARK_PRESETS, spec)) return { ...MARK_PRESETS[spec as MarkPreset] };
    const parts = spec.split('/');
    if (parts.length > 2 || parts[0].trim() === '' || !/^[0-9a-fx/\s]+$/i.test(spec)) {
      throw new InvalidArgumentError(`mark ${JSON.stringify(spec)}: expected ${ACCEPTED}`);
    }
    value = parseMarkNumber(parts[0], 'mark value');
    mask = parts.length === 2 ? parseMarkNumber(parts[1], 'mark mask') : 0xffffffff;
  } else if (spec !== null && typeof spec === 'object' && 'value' in spec) {
    value = parseMarkNumber(spec.value, 'mark value');
    mask = spec.mask === undefined ? 0xffffffff : parseMarkNumber(spec.mask, 'mark mask');
  } else {
    throw new InvalidArgumentError(`mark ${JSON.stringify(spec)}: expected ${ACCEPTED}`);
  }
  if (mask === 0) {
    throw new InvalidArgumentError('mark mask 0 would match every packet of the cgroup: give the bits that identify the proxy (e.g. 0xfff)');
  }
  if ((value & ~mask) >>> 0 !== 0) {
    throw new InvalidArgumentError(
      `mark value ${hex(value)} has bits outside mask ${hex(mask)}, so no packet could ever match: use value & mask (${hex((value & mask) >>> 0)})`,
    );
  }
  return { value, mask };
}

/** Whether a packet mark is selected (what the program tests). */
export function markMatches(match: MarkMatch, mark: number): boolean {
  return ((mark & match.mask) >>> 0) === match.value;
}

export function formatMark(match: MarkMatch): string {
  return `${hex(match.value)}/${hex(match.mask)}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
