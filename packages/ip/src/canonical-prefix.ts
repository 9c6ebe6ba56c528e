/**
 * The family and canonical text of a prefix text without building its bytes: what a store of rules
 * keyed by text needs, for every rule of a 100,000-rule batch. IPv4 is checked in one pass over the
 * characters (an accepted "a.b.c.d/len" is its own canonical text); anything else goes through
 * tryParsePrefix, whose rules and messages it shares.
 */
import type { IpFamily } from './ip-address.js';
import { MAX_TEXT } from './ip-address.js';
import type { IpResult } from './ip-error.js';
import { tryParsePrefix, type ParsePrefixOptions, prefixLengthValue } from './ip-prefix.js';
import { ipv4Value } from './ipv4.js';

export interface PrefixText {
  readonly family: IpFamily;
  /** canonical "address/length" */
  readonly text: string;
}

/** tryParsePrefix's answer, reduced to family and canonical text. Never throws. */
export function canonicalPrefix(text: unknown, options: ParsePrefixOptions = {}): IpResult<PrefixText> {
  if (typeof text === 'string' && text.length <= MAX_TEXT) {
    const slash = text.indexOf('/');
    const address = ipv4Value(text, 0, slash < 0 ? text.length : slash);
    if (address >= 0) {
      if (slash < 0) return { ok: true, value: { family: 4, text: `${text}/32` } };
      const length = prefixLengthValue(text, slash + 1, 32);
      // host bits clear? (a shift by 32 would be a shift by 0)
      if (length === 32 || (length >= 0 && (length === 0 ? address === 0 : address << length === 0))) {
        return { ok: true, value: { family: 4, text } };
      }
    }
  }
  return tryParsePrefix(text, options);
}
