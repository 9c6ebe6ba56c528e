/**
 * Validates a whole agent config (the parsed YAML document, or an object written in code) against
 * the known plugin and source factories, and resolves each entry to its factory.
 */
import { z, type ZodType } from 'zod';
import type { ConfigIssue, PluginFactory, ProvisionToken, SourceFactory } from './contracts.js';
import { type AgentSettings, agentSettingsSchema } from './agent-settings.js';
import { resolveNeeds } from './plugin-needs.js';
import { checkPathClaims, type OwnedPathClaim } from './check-path-claims.js';
import { formatValue, issuesFromZod } from './config-issue.js';
import { ConfigError, errorMessage } from './errors.js';
import { orderPlugins } from './plugin-order.js';

// factories of any config type meet here
export type AnyPluginFactory = PluginFactory<any>;
export type AnySourceFactory = SourceFactory<any>;

export interface ConfiguredPlugin {
  readonly id: string;
  readonly factory: AnyPluginFactory;
  /** the plugin's entry without `id`, as parsed by its configSchema */
  readonly config: unknown;
  /** position in the config file's `plugins` list */
  readonly index: number;
  /** need token -> the id of the configured plugin providing it (PluginFactory.needs) */
  readonly providers: ReadonlyMap<ProvisionToken, string>;
}

export interface ConfiguredSource {
  /** e.g. "static#0" (type and position in the `sources` list) */
  readonly name: string;
  readonly type: string;
  readonly factory: AnySourceFactory;
  /** the source's entry without `type`, as parsed by its configSchema */
  readonly config: unknown;
  readonly index: number;
}

/** A validated config with every entry resolved to its factory. */
export interface AgentConfig {
  readonly agent: AgentSettings;
  /** in start order: dependencies first, otherwise the order of the file */
  readonly plugins: readonly ConfiguredPlugin[];
  readonly sources: readonly ConfiguredSource[];
  /** intent schemas of the configured plugins, by kind */
  readonly intentSchemas: ReadonlyMap<string, ZodType>;
  /** the file it was read from, when known */
  readonly path?: string;
}

/** The shape of the YAML document, before validation. */
export interface AgentConfigInput {
  readonly agent?: Record<string, unknown>;
  readonly plugins?: readonly Record<string, unknown>[];
  readonly sources?: readonly Record<string, unknown>[];
}

export interface ConfigFactories {
  readonly plugins: readonly AnyPluginFactory[];
  readonly sources: readonly AnySourceFactory[];
}

const documentSchema = z.strictObject({
  agent: agentSettingsSchema,
  plugins: z.array(z.unknown()).default([]),
  sources: z.array(z.unknown()).default([]),
});

const resolved = new WeakSet<object>();

/** True for configs produced by parseAgentConfig / loadAgentConfig. */
export function isAgentConfig(value: unknown): value is AgentConfig {
  return typeof value === 'object' && value !== null && resolved.has(value);
}

function byKey<T>(items: readonly T[], key: (t: T) => string, what: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const prev = map.get(k);
    if (prev !== undefined && prev !== item) throw new Error(`two different ${what} factories named "${k}"`);
    map.set(k, item);
  }
  return map;
}

function list(names: Iterable<string>): string {
  const all = [...names];
  return all.length ? all.join(', ') : '(none)';
}

function splitEntry(entry: unknown, key: string): { head?: unknown; rest: Record<string, unknown> } | undefined {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return undefined;
  const { [key]: head, ...rest } = entry as Record<string, unknown>;
  return { head, rest };
}

/** Validates `input`; throws a ConfigError listing every problem found. */
export function parseAgentConfig(input: unknown, factories: ConfigFactories & { path?: string }): AgentConfig {
  const pluginFactories = byKey(factories.plugins, (f) => f.id, 'plugin');
  const sourceFactories = byKey(factories.sources, (f) => f.type, 'source');
  const issues: ConfigIssue[] = [];

  const doc = documentSchema.safeParse(input ?? {}, { reportInput: true });
  if (!doc.success) {
    issues.push(...issuesFromZod(doc.error, { input, schema: documentSchema }));
    const raw = (input ?? {}) as AgentConfigInput;
    // go on with whatever lists are usable, to report their problems too
    const plugins = Array.isArray(raw.plugins) ? raw.plugins : [];
    const sources = Array.isArray(raw.sources) ? raw.sources : [];
    const agent = agentSettingsSchema.safeParse(raw.agent);
    checkEntries(plugins, sources, pluginFactories, sourceFactories, issues, agent.success ? agent.data.adminSocket : false);
    throw new ConfigError(issues, factories.path);
  }
  const { plugins, sources, intentSchemas } = checkEntries(
    doc.data.plugins,
    doc.data.sources,
    pluginFactories,
    sourceFactories,
    issues,
    doc.data.agent.adminSocket,
  );
  if (issues.length) throw new ConfigError(issues, factories.path);
  const config: AgentConfig = { agent: doc.data.agent, plugins, sources, intentSchemas, path: factories.path };
  resolved.add(config);
  return config;
}

function checkEntries(
  pluginEntries: readonly unknown[],
  sourceEntries: readonly unknown[],
  pluginFactories: ReadonlyMap<string, AnyPluginFactory>,
  sourceFactories: ReadonlyMap<string, AnySourceFactory>,
  issues: ConfigIssue[],
  adminSocket: string | false,
): { plugins: ConfiguredPlugin[]; sources: ConfiguredSource[]; intentSchemas: Map<string, ZodType> } {
  const plugins = new Map<string, ConfiguredPlugin>();
  pluginEntries.forEach((entry, index) => {
    const split = splitEntry(entry, 'id');
    if (!split) {
      issues.push({ path: ['plugins', index], message: `expected a plugin entry { id, ... }, got ${formatValue(entry)}` });
      return;
    }
    const id = split.head;
    if (typeof id !== 'string' || !pluginFactories.has(id)) {
      const what = typeof id === 'string' ? `unknown plugin "${id}"` : `missing plugin id`;
      issues.push({ path: ['plugins', index, 'id'], message: `${what}; known: ${list(pluginFactories.keys())}` });
      return;
    }
    const first = plugins.get(id);
    if (first) {
      issues.push({
        path: ['plugins', index, 'id'],
        message: `plugin "${id}" is configured twice (first at plugins[${first.index}]); each plugin runs once`,
      });
      return;
    }
    const factory = pluginFactories.get(id)!;
    const parsed = factory.configSchema.safeParse(split.rest, { reportInput: true });
    if (!parsed.success) {
      issues.push(
        ...issuesFromZod(parsed.error, { input: split.rest, schema: factory.configSchema, prefix: ['plugins', index] }),
      );
      return;
    }
    plugins.set(id, { id, factory, config: parsed.data, index, providers: new Map() });
  });

  // dependencies
  const configuredIds = [...plugins.keys()];
  for (const p of plugins.values()) {
    for (const dep of p.factory.dependsOn ?? []) {
      if (plugins.has(dep)) continue;
      const why = pluginFactories.has(dep) ? 'which is not configured' : 'which is not a known plugin';
      issues.push({
        path: ['plugins', p.index, 'id'],
        message: `plugin "${p.id}" depends on "${dep}", ${why}; configured: ${list(configuredIds)}`,
      });
    }
  }
  // what one plugin provides to another: the provider starts first and closes last
  const needs = resolveNeeds(plugins.values(), pluginFactories);
  issues.push(...needs.issues);
  for (const [id, providers] of needs.providers) plugins.set(id, { ...plugins.get(id)!, providers });
  const deps = new Map(
    [...plugins.values()].map((p) => [p.id, [...(p.factory.dependsOn ?? []), ...p.providers.values()]] as const),
  );
  const { order, cycle } = orderPlugins(configuredIds, deps);
  if (cycle) issues.push({ path: ['plugins'], message: `dependency cycle: ${cycle.join(' -> ')}` });

  // intent kinds
  const intentSchemas = new Map<string, ZodType>();
  const consumer = new Map<string, ConfiguredPlugin>();
  for (const p of plugins.values()) {
    for (const [kind, schema] of Object.entries(p.factory.intents)) {
      const other = consumer.get(kind);
      if (other) {
        issues.push({
          path: ['plugins', p.index, 'id'],
          message: `intent kind "${kind}" is consumed by both "${other.id}" (plugins[${other.index}]) and "${p.id}"; configure only one of them`,
        });
        continue;
      }
      consumer.set(kind, p);
      intentSchemas.set(kind, schema);
    }
  }

  const sources: ConfiguredSource[] = [];
  const claims: OwnedPathClaim[] = [];
  if (adminSocket !== false) {
    claims.push({ path: adminSocket, owner: "the agent's admin socket", configPath: ['agent', 'adminSocket'] });
  }
  sourceEntries.forEach((entry, index) => {
    const split = splitEntry(entry, 'type');
    if (!split) {
      issues.push({ path: ['sources', index], message: `expected a source entry { type, ... }, got ${formatValue(entry)}` });
      return;
    }
    const type = split.head;
    if (typeof type !== 'string' || !sourceFactories.has(type)) {
      const what = typeof type === 'string' ? `unknown source type "${type}"` : `missing source type`;
      issues.push({ path: ['sources', index, 'type'], message: `${what}; known: ${list(sourceFactories.keys())}` });
      return;
    }
    const factory = sourceFactories.get(type)!;
    const parsed = factory.configSchema.safeParse(split.rest, { reportInput: true });
    if (!parsed.success) {
      issues.push(
        ...issuesFromZod(parsed.error, { input: split.rest, schema: factory.configSchema, prefix: ['sources', index] }),
      );
      return;
    }
    const own = factory.checkConfig?.(parsed.data, intentSchemas) ?? [];
    issues.push(...own.map((i) => ({ path: ['sources', index, ...i.path], message: i.message })));
    claims.push(...sourceClaims(factory, parsed.data, `${type}#${index}`, index, issues));
    sources.push({ name: `${type}#${index}`, type, factory, config: parsed.data, index });
  });
  issues.push(...checkPathClaims(claims));

  return { plugins: order.map((id) => plugins.get(id)!), sources, intentSchemas };
}

/** The local paths a source's config claims, as owned claims (a failing `claims` is an issue). */
function sourceClaims(
  factory: AnySourceFactory,
  config: unknown,
  name: string,
  index: number,
  issues: ConfigIssue[],
): OwnedPathClaim[] {
  if (!factory.claims) return [];
  try {
    return factory.claims(config).map((c) => ({
      path: c.path,
      owner: `the ${c.what} of source ${name}`,
      configPath: ['sources', index, ...(c.field ?? [])],
    }));
  } catch (err) {
    issues.push({ path: ['sources', index], message: `could not list the paths this source claims: ${errorMessage(err)}` });
    return [];
  }
}
