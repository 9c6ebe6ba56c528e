/**
 * Tokens that name what one plugin provides to another (`PluginFactory.provides` / `needs`):
 * registered symbols (`Symbol.for`), so a plugin's worker thread, which gets the values by the
 * tokens' keys (a symbol cannot be cloned), finds the very same token. Pure.
 */
import type { ProvisionToken } from './contracts.js';

/** The tokens of a `provides` / `needs` record (its own symbol keys, in declaration order). */
export function tokensOf(record: object | undefined): ProvisionToken[] {
  return record === undefined ? [] : Object.getOwnPropertySymbols(record);
}

/** How a token reads in messages: its `Symbol.for` key. */
export function tokenName(token: ProvisionToken): string {
  return Symbol.keyFor(token) ?? token.description ?? token.toString();
}

/**
 * What is wrong with the keys of a factory's `provides` or `needs` (`field`), one line each: keys
 * that are strings, or symbols not made with `Symbol.for`.
 */
export function provisionKeyProblems(record: object | undefined, field: 'provides' | 'needs'): string[] {
  if (record === undefined) return [];
  const strings = Object.keys(record).map(
    (key) => `${field} "${key}" by a string; name it by a Symbol.for('bpfsteer.<scope>.<Name>') token of the contract package that owns it`,
  );
  const unregistered = tokensOf(record)
    .filter((token) => Symbol.keyFor(token) === undefined)
    .map((token) => `${field} ${token.toString()} by a symbol not made with Symbol.for(...), which its thread could not find again`);
  return [...strings, ...unregistered];
}

/** `provided` as it crosses to a plugin's thread: by each token's `Symbol.for` key. */
export function providedByKey(provided: ReadonlyMap<ProvisionToken, unknown> | undefined): Map<string, unknown> {
  return new Map([...(provided ?? [])].map(([token, value]) => [tokenName(token), value] as const));
}
