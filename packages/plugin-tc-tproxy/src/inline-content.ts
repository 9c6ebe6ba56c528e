/**
 * The content of an inline dst node as the tracked state keeps it between applies: its port
 * intervals only (all its dst value holds), the first in fields of its own, without the src node,
 * port blocks and lists it was compiled with (a rule set of 100,000 host rules keeps 100,000 of them).
 */
import type { NodeContent, SrcNode } from './node-content.js';
import type { PortInterval } from './port-partition.js';

const NO_SRC_NODES: readonly SrcNode[] = Object.freeze([]);

export class InlineContent implements NodeContent {
  readonly #low: number;
  readonly #high: number;
  readonly #ruleId: number;
  /** the intervals after the first: low, high, rule id each */
  readonly #more: readonly number[] | undefined;

  private constructor(low: number, high: number, ruleId: number, more: readonly number[] | undefined) {
    this.#low = low;
    this.#high = high;
    this.#ruleId = ruleId;
    this.#more = more;
  }

  /** The content of a node holding `intervals` (at least one). */
  static of(intervals: readonly PortInterval[]): InlineContent {
    const first = intervals[0];
    let more: number[] | undefined;
    if (intervals.length > 1) {
      more = [];
      for (let i = 1; i < intervals.length; i++) more.push(intervals[i].low, intervals[i].high, intervals[i].ruleId);
    }
    return new InlineContent(first.low, first.high, first.ruleId, more);
  }

  /** The content of a node holding one interval (e.g. one rule from any source). */
  static single(low: number, high: number, ruleId: number): InlineContent {
    return new InlineContent(low, high, ruleId, undefined);
  }

  get srcNodes(): readonly SrcNode[] {
    return NO_SRC_NODES;
  }
  get srcEntries(): number {
    return 0;
  }
  get portEntries(): number {
    return 0;
  }

  /** how many intervals (the accessors below read them without making the list `inline` makes) */
  get intervalCount(): number {
    return this.#more === undefined ? 1 : 1 + this.#more.length / 3;
  }
  lowAt(i: number): number {
    return i === 0 ? this.#low : this.#more![(i - 1) * 3];
  }
  highAt(i: number): number {
    return i === 0 ? this.#high : this.#more![(i - 1) * 3 + 1];
  }
  ruleIdAt(i: number): number {
    return i === 0 ? this.#ruleId : this.#more![(i - 1) * 3 + 2];
  }

  /** the intervals (a new list at each call) */
  get inline(): readonly PortInterval[] {
    const out: PortInterval[] = [{ low: this.#low, high: this.#high, ruleId: this.#ruleId }];
    const more = this.#more;
    if (more !== undefined) for (let i = 0; i < more.length; i += 3) out.push({ low: more[i], high: more[i + 1], ruleId: more[i + 2] });
    return out;
  }

  /** Whether `intervals` are these. */
  holds(intervals: readonly PortInterval[]): boolean {
    const more = this.#more;
    if (intervals.length !== 1 + (more === undefined ? 0 : more.length / 3)) return false;
    const first = intervals[0];
    if (first.low !== this.#low || first.high !== this.#high || first.ruleId !== this.#ruleId) return false;
    for (let i = 1; i < intervals.length; i++) {
      const k = (i - 1) * 3;
      if (intervals[i].low !== more![k] || intervals[i].high !== more![k + 1] || intervals[i].ruleId !== more![k + 2]) return false;
    }
    return true;
  }

  /** Whether `other` holds the same intervals. */
  equals(other: InlineContent): boolean {
    if (other.#low !== this.#low || other.#high !== this.#high || other.#ruleId !== this.#ruleId) return false;
    const a = this.#more;
    const b = other.#more;
    if (a === undefined || b === undefined) return a === b;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

/** Whether `content` is inline (has `inline`), without making an InlineContent's list. */
export function isInline(content: NodeContent): boolean {
  return content instanceof InlineContent || content.inline !== undefined;
}

/**
 * A content as the tracked state keeps it: an inline one as an InlineContent (sameContent compares
 * it with the content it was compiled as by its intervals), any other as it is (it needs its src
 * nodes and blocks to be deleted).
 */
export function keptContent(content: NodeContent): NodeContent {
  if (content instanceof InlineContent || content.inline === undefined || content.inline.length === 0 || content.inconsistent) return content;
  return InlineContent.of(content.inline);
}
