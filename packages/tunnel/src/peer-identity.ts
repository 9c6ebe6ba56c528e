/**
 * Who a TLS peer is: the identities of its certificate's subjectAltName (URI, e.g. a SPIFFE id
 * "spiffe://cluster.local/ns/bpfsteer/sa/node-b", and DNS names), checked against an allow-list. A
 * peer whose certificate the CA signed but that is not on the list is refused.
 */
export function certificateIdentities(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(/,\s*/)
    .map((entry) => /^(URI|DNS):(.+)$/.exec(entry.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[2]!);
}

/** undefined when one of `identities` is allowed; else why not. An empty allow-list allows any peer the CA signed. */
export function identityProblem(identities: readonly string[], allowed: readonly string[]): string | undefined {
  if (allowed.length === 0 || identities.some((i) => allowed.includes(i))) return undefined;
  return identities.length === 0
    ? 'the peer certificate names no identity (no URI or DNS subjectAltName)'
    : `the peer is ${identities.join(', ')}, not one of the allowed identities`;
}
