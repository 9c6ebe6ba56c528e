/** Validating intents at the edge against the intent schemas of the configured plugins. */
import type { ZodType } from 'zod';
import type { ConfigIssue, Intent } from './contracts.js';
import { type ConfigPath, formatValue, issuesFromZod } from './config-issue.js';

export interface CheckedIntents {
  /** the valid intents, as parsed by their schemas (defaults and transforms applied) */
  readonly intents: Intent[];
  readonly issues: ConfigIssue[];
}

function knownKinds(schemas: ReadonlyMap<string, ZodType>): string {
  return schemas.size === 0 ? '(none: no configured plugin consumes intents)' : [...schemas.keys()].join(', ');
}

/**
 * Checks each element of `list` as `{ kind, ...fields }`: the kind must be consumed by a configured
 * plugin and the fields must satisfy that kind's schema. `prefix` is the path of `list` in the file.
 */
export function checkIntents(
  list: readonly unknown[],
  schemas: ReadonlyMap<string, ZodType>,
  prefix: ConfigPath = [],
): CheckedIntents {
  const intents: Intent[] = [];
  const issues: ConfigIssue[] = [];
  list.forEach((item, index) => {
    const at = [...prefix, index];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      issues.push({ path: at, message: `expected an intent object { kind, ... }, got ${formatValue(item)}` });
      return;
    }
    const { kind, ...fields } = item as Record<string, unknown>;
    if (typeof kind !== 'string' || kind === '') {
      issues.push({ path: [...at, 'kind'], message: `missing intent kind; consumed kinds: ${knownKinds(schemas)}` });
      return;
    }
    const schema = schemas.get(kind);
    if (!schema) {
      issues.push({
        path: [...at, 'kind'],
        message: `no configured plugin consumes intent kind "${kind}"; consumed kinds: ${knownKinds(schemas)}`,
      });
      return;
    }
    const parsed = schema.safeParse(fields, { reportInput: true });
    if (!parsed.success) {
      issues.push(...issuesFromZod(parsed.error, { input: fields, schema, prefix: at }));
      return;
    }
    const data = parsed.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      issues.push({ path: at, message: `the schema of intent kind "${kind}" did not produce an object` });
      return;
    }
    intents.push({ ...(data as Record<string, unknown>), kind });
  });
  return { intents, issues };
}
