/**
 * The text of the state files (see state-file.ts): the snapshot (one rule per line) and the journal
 * records (one line per commit, only what it changed), written and read back. Pure: no I/O.
 */
import { z } from 'zod';
import { isValidRuleInput } from './api/fast-validation.js';
import { interfaceNameSchema, interfaceSettingsSchema, ruleInputSchema } from './api/schemas.js';
import { ZitiSourceError, errorMessage } from './errors.js';
import { protocols, ruleKey, type InterfaceSettings, type RuleIdentity } from './rule.js';
import { toRule, type RuleInput } from './rule-input.js';
import { RuleTable, type RuleTableDraft } from './rule-table.js';
import { canonicalSettings, type ZitiState } from './rule-store.js';

export const STATE_FILE_VERSION = 1;

const interfacesSchema = z.record(interfaceNameSchema, interfaceSettingsSchema);

const snapshotSchema = z.strictObject({
  version: z.literal(STATE_FILE_VERSION, { error: `version must be ${STATE_FILE_VERSION}` }),
  rules: z.array(z.unknown(), { error: 'rules must be an array' }),
  interfaces: interfacesSchema,
});

const port = z.number().int().min(0).max(65535);
const identitySchema = z.strictObject({
  destination: z.string(),
  source: z.string(),
  protocol: z.enum(protocols),
  ports: z.strictObject({ low: port, high: port }),
});

const recordSchema = z.strictObject({
  flush: z.literal(true).optional(),
  delete: z.array(identitySchema).optional(),
  put: z.array(z.unknown()).optional(),
  interfaces: interfacesSchema.optional(),
});

// ---------------------------------------------------------------- writing

function sortedInterfaces(interfaces: ReadonlyMap<string, InterfaceSettings>): Record<string, InterfaceSettings> {
  return Object.fromEntries([...interfaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The JSON text of a snapshot (one rule per line, so diffs of the file stay readable). */
export function serialiseState(state: ZitiState): string {
  // one JSON.stringify of all rules (V8's fastest path: several times faster than one call per
  // rule), then a line break before each rule: an unescaped `},{"destination"` occurs only
  // between two rules (a quote inside a string is escaped), and every rule starts with destination
  const rules = JSON.stringify(RuleTable.from(state.rules).valueArray());
  const lines = rules.length > 2 ? `\n    ${rules.slice(1, -1).replaceAll('},{"destination"', '},\n    {"destination"')}\n  ` : '';
  return (
    `{\n  "version": ${STATE_FILE_VERSION},\n  "rules": [${lines}],\n` +
    `  "interfaces": ${JSON.stringify(sortedInterfaces(state.interfaces))}\n}\n`
  );
}

function identityJson(rule: RuleIdentity): string {
  const { destination, source, protocol, ports } = rule;
  return JSON.stringify({ destination, source, protocol, ports: { low: ports.low, high: ports.high } });
}

/** One journal line taking `from` to `to`; undefined when nothing changed. */
export function journalRecord(from: ZitiState, to: ZitiState): string | undefined {
  const parts: string[] = [];
  const before = RuleTable.from(from.rules);
  const after = RuleTable.from(to.rules);
  if (after.size === 0 && before.size > 0) {
    parts.push('"flush":true');
  } else if (after !== before) {
    const { put, removed } = RuleTable.changes(before, after);
    if (removed.length) parts.push(`"delete":[${removed.map(identityJson).join(',')}]`);
    if (put.length) parts.push(`"put":${JSON.stringify(put)}`); // one call: V8's fastest path
  }
  if (to.interfaces !== from.interfaces) parts.push(`"interfaces":${JSON.stringify(sortedInterfaces(to.interfaces))}`);
  return parts.length ? `{${parts.join(',')}}\n` : undefined;
}

// ---------------------------------------------------------------- reading

function stateFileError(file: string, problems: readonly string[]): ZitiSourceError {
  return new ZitiSourceError(
    'ERR_ZITI_STATE_FILE',
    `state file ${file} is invalid (fix or remove it; it is rewritten after the next change):\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
}

function zodProblems(error: z.ZodError, prefix: readonly (string | number)[]): string[] {
  return error.issues.slice(0, 10).map((i) => `${[...prefix, ...i.path].join('.') || '(root)'}: ${i.message}`);
}

/** Checks and normalises the stored rules (the API's checks: the fast path, else zod for the message). */
function putRules(draft: RuleTableDraft, inputs: readonly unknown[], file: string, at: readonly (string | number)[]): void {
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    if (!isValidRuleInput(input)) {
      const parsed = ruleInputSchema.safeParse(input);
      if (!parsed.success) throw stateFileError(file, zodProblems(parsed.error, [...at, i]));
    }
    const checked = toRule(input as RuleInput);
    if (checked.ok) draft.set(ruleKey(checked.value), checked.value); // the schema ran toRule: always ok
  }
}

function settingsOf(interfaces: Record<string, InterfaceSettings>): Map<string, InterfaceSettings> {
  return new Map(Object.entries(interfaces).map(([name, s]) => [name, canonicalSettings(s)]));
}

/** The byte offset of the character at `index` of `text` (its UTF-8 encoding). */
function byteOffset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index));
}

/** What is wrong with a text JSON.parse refused, and where when that can be told. */
function notJsonProblem(text: string, err: unknown): string {
  if (text.length === 0) return 'it is empty (0 bytes)';
  const nul = text.indexOf('\0');
  if (nul >= 0) return `it holds a NUL byte at byte ${byteOffset(text, nul)} (a write lost in a crash?)`;
  const message = errorMessage(err);
  if (message === 'Unexpected end of JSON input') return `it ends early at byte ${Buffer.byteLength(text)}, in the middle of a value (truncated?)`;
  return message; // V8 names the position, line and column
}

/** Parses the text of a snapshot; throws ZitiSourceError naming every problem. */
export function parseState(text: string, file: string): ZitiState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `state file ${file} is not JSON (fix or remove it): ${notJsonProblem(text, err)}`);
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) throw stateFileError(file, zodProblems(parsed.error, []));
  const rules = RuleTable.empty.edit();
  putRules(rules, parsed.data.rules, file, ['rules']);
  return { rules: rules.done(), interfaces: settingsOf(parsed.data.interfaces) };
}

/** An incomplete last journal line that was ignored. */
export interface TornTail {
  /** its line number (1-based) */
  readonly line: number;
  /** the byte offset it starts at */
  readonly offset: number;
  /** its length in bytes */
  readonly bytes: number;
}

export interface JournalReplay {
  readonly state: ZitiState;
  /** complete records applied */
  readonly records: number;
  /** an incomplete last line that was ignored (a crash during an append) */
  readonly torn?: TornTail;
}

/**
 * Applies the journal's text to `state`. An incomplete last line (no newline: a crash during an
 * append; or a last line that is not JSON, e.g. NULs of a write lost in a crash) is skipped and
 * reported; any other bad line throws naming its line and byte offset.
 */
export function replayJournal(state: ZitiState, text: string, file: string): JournalReplay {
  const lines = text.split('\n');
  const last = lines.pop()!; // '' when the text ends with a newline, else an incomplete line
  let rules: RuleTable = RuleTable.from(state.rules);
  let interfaces = state.interfaces;
  let records = 0;
  let offset = 0;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const at = offset;
    offset += Buffer.byteLength(line) + 1;
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      // a complete line that is not JSON can only be the last one, torn and then followed by a newline
      if (n === lines.length - 1 && last === '') {
        return { state: { rules, interfaces }, records, torn: { line: n + 1, offset: at, bytes: offset - at } };
      }
      throw new ZitiSourceError(
        'ERR_ZITI_STATE_FILE',
        `state journal ${file} line ${n + 1} (byte ${at}) is not JSON (fix or remove the file): ${notJsonProblem(line, err)}`,
      );
    }
    const parsed = recordSchema.safeParse(json);
    if (!parsed.success) throw stateFileError(file, zodProblems(parsed.error, [`line ${n + 1}`]));
    const record = parsed.data;
    const draft = (record.flush ? RuleTable.empty : rules).edit();
    for (const identity of record.delete ?? []) draft.delete(ruleKey(identity));
    putRules(draft, record.put ?? [], file, [`line ${n + 1}`, 'put']);
    rules = draft.done();
    if (record.interfaces) interfaces = settingsOf(record.interfaces);
    records++;
  }
  const torn = last.length > 0 ? { line: lines.length + 1, offset, bytes: Buffer.byteLength(last) } : undefined;
  return { state: { rules, interfaces }, records, ...(torn && { torn }) };
}
