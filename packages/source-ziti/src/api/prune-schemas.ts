/**
 * Drops the component schemas no path refers to (directly or through other components): the zod
 * type provider emits an input and an output variant of every named schema.
 */
type Json = unknown;

function collectRefs(value: Json, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) into.add(v.slice('#/components/schemas/'.length));
      else collectRefs(v, into);
    }
  }
}

export function pruneUnusedSchemas<T extends { paths?: unknown; components?: { schemas?: Record<string, unknown> } }>(doc: T): T {
  const schemas = doc.components?.schemas;
  if (!schemas) return doc;
  const used = new Set<string>();
  collectRefs(doc.paths, used);
  const pending = [...used];
  while (pending.length) {
    const found = new Set<string>();
    collectRefs(schemas[pending.pop()!], found);
    for (const name of found) {
      if (!used.has(name)) {
        used.add(name);
        pending.push(name);
      }
    }
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...doc, components: { ...doc.components, schemas: kept } };
}
