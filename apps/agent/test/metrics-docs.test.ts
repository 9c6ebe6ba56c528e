/**
 * The metric names the README lists are the names the code makes, and the Grafana dashboard
 * (packaging/grafana) asks only for listed names: a metric added, renamed or removed in one place
 * and not the others fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The names in backquotes of the README's "Metrics" section. */
function documented(): Set<string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Metrics\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return new Set([...readme.slice(start, end).matchAll(/`(bpfsteer_[a-z0-9_]+)`/g)].map((m) => m[1]!));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Every metric name the code writes as a string literal. */
function made(): Set<string> {
  const dirs = [
    ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'src')),
    join(root, 'apps', 'agent', 'src'),
  ].filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory());
  const names = new Set<string>();
  for (const file of dirs.flatMap(sourceFiles)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['`"](bpfsteer_[a-z0-9_]+)['`"]/g)) names.add(m[1]!);
  }
  return names;
}

it('the README lists every metric the code makes, and only those', () => {
  const code = made();
  const listed = documented();
  expect(code.size).toBeGreaterThan(40);
  expect([...code].filter((n) => !listed.has(n)), 'made but not listed').toEqual([]);
  expect([...listed].filter((n) => !code.has(n)), 'listed but not made').toEqual([]);
});

it('the Grafana dashboard asks only for listed metrics, and shows every plugin and source', () => {
  const dashboard = JSON.parse(readFileSync(join(root, 'packaging', 'grafana', 'bpfsteer-dashboard.json'), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
    templating: { list: { name: string }[] };
  };
  const listed = documented();
  const asked = new Set(
    dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\b(bpfsteer_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''))),
  );
  expect([...asked].filter((n) => !listed.has(n))).toEqual([]);
  for (const area of ['tproxy', 'nexthop', 'sklookup', 'cgroup_mark', 'connect_redirect', 'ziti', 'xds', 'zds', 'tunnel']) {
    expect([...asked].some((n) => n.startsWith(`bpfsteer_${area}_`)), area).toBe(true);
  }
  expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
});
