// The packages of this repository depend on each other at exact versions ("@bpfsteer/ip": "0.1.0"),
// so they are released together (.changeset/config.json `fixed`). A pin that is not the sibling's
// own version would install another release of it, or fail where none was published.

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

/** `manifest` with every pin of a sibling (`versions`: name -> version) set to that sibling's version. */
export function withSiblingPins(manifest, versions) {
  const out = { ...manifest };
  for (const field of DEPENDENCY_FIELDS) {
    if (!manifest[field]) continue;
    out[field] = Object.fromEntries(
      Object.entries(manifest[field]).map(([name, spec]) => [name, versions.has(name) ? versions.get(name) : spec]),
    );
  }
  return out;
}

/** Names of this repository's packages that `manifest` depends on without being one of them. */
export function unknownSiblings(manifest, versions, scope) {
  return DEPENDENCY_FIELDS.flatMap((field) => Object.keys(manifest[field] ?? {}))
    .filter((name) => name.startsWith(`${scope}/`) && !versions.has(name));
}
