/** Start order of plugins from their `dependsOn`: dependencies first, otherwise config order. */

export interface PluginOrder {
  readonly order: string[];
  /** a dependency cycle, e.g. ['a', 'b', 'a'], when there is one */
  readonly cycle?: string[];
}

/** `deps` maps each id to the ids it depends on; ids missing from `ids` are ignored here. */
export function orderPlugins(ids: readonly string[], deps: ReadonlyMap<string, readonly string[]>): PluginOrder {
  const known = new Set(ids);
  const order: string[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  let cycle: string[] | undefined;

  const visit = (id: string): void => {
    if (done.has(id) || cycle) return;
    const at = onPath.indexOf(id);
    if (at >= 0) {
      cycle = [...onPath.slice(at), id];
      return;
    }
    onPath.push(id);
    for (const dep of deps.get(id) ?? []) if (known.has(dep)) visit(dep);
    onPath.pop();
    if (!cycle) {
      done.add(id);
      order.push(id);
    }
  };
  for (const id of ids) visit(id);
  return cycle ? { order: [...ids], cycle } : { order };
}
