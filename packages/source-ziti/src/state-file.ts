/**
 * The persisted rule store: a JSON file written atomically (temp file, fsync, rename, fsync of the
 * directory) after every successful commit and read at start, so an agent restart re-publishes
 * the same rules. A file that cannot be read or validated stops the start (never silently empty).
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { interfaceNameSchema, interfaceSettingsSchema, ruleInputSchema } from './api/schemas.js';
import { ZitiSourceError, errorMessage } from './errors.js';
import type { InterfaceSettings, Rule } from './rule.js';
import { ruleKey } from './rule.js';
import { toRule } from './rule-input.js';
import { RuleTable } from './rule-table.js';
import { canonicalSettings, emptyState, type ZitiState } from './rule-store.js';

export const STATE_FILE_VERSION = 1;

const stateFileSchema = z.strictObject({
  version: z.literal(STATE_FILE_VERSION, { error: `version must be ${STATE_FILE_VERSION}` }),
  rules: z.array(ruleInputSchema),
  interfaces: z.record(interfaceNameSchema, interfaceSettingsSchema),
});

/** The JSON lines of one (immutable, shared) bucket of the rule table, built once. */
const bucketLines = new WeakMap<ReadonlyMap<string, Rule>, readonly string[]>();

/** The JSON text of a state (one rule per line, so diffs of the file stay readable). */
export function serialiseState(state: ZitiState): string {
  const rules: string[] = [];
  for (const bucket of RuleTable.from(state.rules).buckets()) {
    let lines = bucketLines.get(bucket);
    if (!lines) {
      lines = Array.from(bucket.values(), (r) => `    ${JSON.stringify(r)}`);
      bucketLines.set(bucket, lines);
    }
    for (const line of lines) rules.push(line);
  }
  const interfaces = Object.fromEntries([...state.interfaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return (
    `{\n  "version": ${STATE_FILE_VERSION},\n  "rules": [${rules.length ? `\n${rules.join(',\n')}\n  ` : ''}],\n` +
    `  "interfaces": ${JSON.stringify(interfaces)}\n}\n`
  );
}

/** Parses the text of a state file; throws ZitiSourceError naming every problem. */
export function parseState(text: string, file: string): ZitiState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `state file ${file} is not JSON: ${errorMessage(err)}`);
  }
  const parsed = stateFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ZitiSourceError(
      'ERR_ZITI_STATE_FILE',
      `state file ${file} is invalid (fix or remove it; it is rewritten after the next change):\n${problems.join('\n')}`,
    );
  }
  const rules = RuleTable.empty.edit();
  for (const input of parsed.data.rules) {
    const checked = toRule(input);
    if (checked.ok) rules.set(ruleKey(checked.value), checked.value); // schema refinement already ran toRule
  }
  const interfaces = new Map<string, InterfaceSettings>(
    Object.entries(parsed.data.interfaces).map(([name, s]) => [name, canonicalSettings(s)]),
  );
  return { rules: rules.done(), interfaces };
}

/** Reads the state file; a missing file is the empty state. */
export async function loadState(file: string): Promise<ZitiState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState;
    throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `cannot read state file ${file}: ${errorMessage(err)}`, { cause: err });
  }
  return parseState(text, file);
}

/** Writes the state file atomically (0600; its directory created 0700 when missing). */
export async function saveState(file: string, state: ZitiState): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(serialiseState(state), 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(tmp, file);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
