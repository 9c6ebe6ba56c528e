/**
 * Turning validation problems into messages that name the path, the bad value and what is accepted,
 * e.g. `agent.timeouts.openMs: expected number, got "10s"`.
 */
import type { ZodError, ZodType } from 'zod';
import type { ConfigIssue } from './contracts.js';

export type ConfigPath = readonly (string | number)[];

const identifier = /^[A-Za-z_$][\w$-]*$/;

/** `['sources', 0, 'intents', 2, 'source']` -> `sources[0].intents[2].source`; `[]` -> `(root)`. */
export function formatConfigPath(path: ConfigPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (identifier.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** `path: message`, or just the message for problems of the whole document (empty path). */
export function formatConfigIssue(issue: ConfigIssue): string {
  return issue.path.length ? `${formatConfigPath(issue.path)}: ${issue.message}` : issue.message;
}

/** A short rendering of a value for messages: JSON, cut at 60 characters. */
export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function valueAt(root: unknown, path: ConfigPath): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

interface ZodDefLike {
  type?: string;
  shape?: Record<string, unknown>;
  element?: unknown;
  innerType?: unknown;
  in?: unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  return (schema as { _zod?: { def?: ZodDefLike } } | undefined)?._zod?.def;
}

function unwrap(schema: unknown): unknown {
  for (let i = 0; i < 16; i++) {
    const def = defOf(schema);
    if (!def) return undefined;
    if (def.innerType !== undefined) schema = def.innerType;
    else if (def.type === 'pipe') schema = def.in;
    else return schema;
  }
  return schema;
}

/** The field names an object schema accepts at `path` (best effort; undefined when unknown). */
export function acceptedKeysAt(schema: unknown, path: ConfigPath): string[] | undefined {
  let cur = unwrap(schema);
  for (const seg of path) {
    const def = defOf(cur);
    if (!def) return undefined;
    if (def.type === 'object' && typeof seg === 'string') cur = unwrap(def.shape?.[seg]);
    else if (def.type === 'array' && typeof seg === 'number') cur = unwrap(def.element);
    else return undefined;
  }
  const def = defOf(cur);
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

interface ZodIssueLike {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly input?: unknown;
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly keys?: readonly string[];
}

/**
 * Converts a zod error into config issues. `input` is the value that was parsed (to show bad values),
 * `schema` the schema (to list accepted fields), `prefix` the path of that value inside the file.
 */
export function issuesFromZod(
  error: ZodError,
  options: { input: unknown; schema?: ZodType; prefix?: ConfigPath },
): ConfigIssue[] {
  const prefix = options.prefix ?? [];
  const out: ConfigIssue[] = [];
  for (const raw of error.issues as readonly ZodIssueLike[]) {
    const rel = raw.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as (string | number)[];
    const value = 'input' in raw ? raw.input : valueAt(options.input, rel);
    if (raw.code === 'unrecognized_keys' && raw.keys) {
      const accepted = options.schema ? acceptedKeysAt(options.schema, rel) : undefined;
      const hint = accepted ? `; accepted: ${accepted.join(', ')}` : '';
      for (const key of raw.keys) out.push({ path: [...prefix, ...rel, key], message: `unknown field${hint}` });
      continue;
    }
    out.push({ path: [...prefix, ...rel], message: describeIssue(raw, value) });
  }
  return out;
}

function describeIssue(issue: ZodIssueLike, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined
        ? `missing; expected ${issue.expected ?? 'a value'}`
        : `expected ${issue.expected ?? 'another type'}, got ${formatValue(value)}`;
    case 'invalid_value':
      return `${formatValue(value)} is not accepted; accepted: ${(issue.values ?? []).map((v) => formatValue(v)).join(', ')}`;
    default: {
      const shown = formatValue(value);
      if (value === undefined || (typeof value === 'object' && value !== null) || issue.message.includes(shown)) {
        return issue.message;
      }
      return `${issue.message} (got ${shown})`;
    }
  }
}
