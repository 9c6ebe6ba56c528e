/**
 * The text of the state files (see state-file.ts): the snapshot (one rule per line) and the journal
 * records (one line per commit, only what it changed), written and read back. No I/O. Every step
 * over many rules runs in slices of a TimeSlicer (serialising or parsing 100,000 rules takes
 * 100-300 ms: in one piece, the agent would answer nothing meanwhile).
 */
import { z } from 'zod';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { jsonElementsInPieces, STRINGIFY_GROUP } from './json-in-pieces.js';
import { parseJsonInSlices } from './parse-json-in-slices.js';
import { checkRuleInput } from './api/fast-validation.js';
import { interfaceNameSchema, interfaceSettingsSchema, ruleInputSchema } from './api/schemas.js';
import { ZitiSourceError, errorMessage } from './errors.js';
import { protocols, ruleKey, type InterfaceSettings, type Rule, type RuleIdentity, type RuleOwner } from './rule.js';
import { ruleOf } from './rule-owners.js';
import { toRule } from './rule-input.js';
import { RuleTable, type RuleTableDraft } from './rule-table.js';
import { canonicalSettings, type ZitiState } from './rule-store.js';

export const STATE_FILE_VERSION = 1;

const interfacesSchema = z.record(interfaceNameSchema, interfaceSettingsSchema);

/** An array whose elements are checked one by one afterwards (zod's array walks them all in one step). */
const listOf = (error: string) => z.custom<unknown[]>((v) => Array.isArray(v), { error });

const snapshotSchema = z.strictObject({
  version: z.literal(STATE_FILE_VERSION, { error: `version must be ${STATE_FILE_VERSION}` }),
  rules: listOf('rules must be an array'),
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
  delete: listOf('delete must be an array').optional(),
  put: listOf('put must be an array').optional(),
  interfaces: interfacesSchema.optional(),
});

// ---------------------------------------------------------------- writing

function sortedInterfaces(interfaces: ReadonlyMap<string, InterfaceSettings>): Record<string, InterfaceSettings> {
  return Object.fromEntries([...interfaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The JSON text of a table's rules in table order (valueArray's), as the groups
 * jsonElementsInPieces makes. A journal record that puts every rule of its new state (a large
 * batch onto an empty store, say) makes them, and the snapshot of that state, which a compaction
 * writes right after such a record, reuses them: a 100,000-rule batch was serialised twice
 * (~150 ms of the main thread each time).
 */
export interface RuleText {
  readonly rules: RuleTable;
  readonly groups: readonly string[];
}

/**
 * The rule groups as lines, one rule per line after `indent`, in pieces (to be written one after
 * the other). A line break goes before each rule: an unescaped `},{"destination"` occurs only
 * between two rules (a quote inside a string is escaped), and every rule starts with destination.
 */
async function ruleLines(groups: readonly string[], indent: string, slicer: TimeSlicer): Promise<string[]> {
  const lines = new Array<string>(groups.length);
  for (let i = 0; i < groups.length; i++) {
    if (indent) await slicer.pause();
    const text = indent ? groups[i].replaceAll('},{"destination"', `},${indent}{"destination"`) : groups[i];
    lines[i] = `${i === 0 ? '' : ','}${indent}${text}`;
  }
  return lines;
}

/**
 * The JSON text of a snapshot (one rule per line, so diffs of the file stay readable), in pieces;
 * `text`: the rules' text when it is already made (used only when it is the text of state's rules).
 */
export async function serialiseStateInPieces(state: ZitiState, slicer: TimeSlicer = new TimeSlicer(), text?: RuleText): Promise<string[]> {
  const table = RuleTable.from(state.rules);
  const pieces = [`{\n  "version": ${STATE_FILE_VERSION},\n  "rules": [`];
  if (table.size) {
    const groups = text?.rules === table ? text.groups : await jsonElementsInPieces(table.valueArray(), slicer);
    pieces.push(...(await ruleLines(groups, '\n    ', slicer)), '\n  ');
  }
  pieces.push(`],\n  "interfaces": ${JSON.stringify(sortedInterfaces(state.interfaces))}\n}\n`);
  return pieces;
}

/** The JSON text of a snapshot. */
export async function serialiseState(state: ZitiState, slicer?: TimeSlicer): Promise<string> {
  return (await serialiseStateInPieces(state, slicer)).join('');
}

function identityJson(rule: RuleIdentity): string {
  const { destination, source, protocol, ports } = rule;
  return JSON.stringify({ destination, source, protocol, ports: { low: ports.low, high: ports.high } });
}

/** A journal record: its line in pieces, and the text of every rule of its new state when it puts them all. */
export interface JournalText {
  readonly pieces: string[];
  readonly allRules?: RuleText;
}

/** The journal line taking `from` to `to` (see JournalText); undefined when nothing changed. */
export async function journalText(from: ZitiState, to: ZitiState, slicer: TimeSlicer = new TimeSlicer()): Promise<JournalText | undefined> {
  const pieces: string[] = [];
  let allRules: RuleText | undefined;
  const before = RuleTable.from(from.rules);
  const after = RuleTable.from(to.rules);
  const next = (): string => (pieces.length ? ',' : '{');
  if (after.size === 0 && before.size > 0) {
    pieces.push(`${next()}"flush":true`);
  } else if (after !== before) {
    const { put, removed } = await RuleTable.changes(before, after, slicer);
    if (removed.length) {
      pieces.push(`${next()}"delete":[`);
      for (let i = 0; i < removed.length; i += STRINGIFY_GROUP) {
        await slicer.pause();
        pieces.push(`${i ? ',' : ''}${removed.slice(i, i + STRINGIFY_GROUP).map(identityJson).join(',')}`);
      }
      pieces.push(']');
    }
    if (put.length) {
      const groups = await jsonElementsInPieces(put, slicer);
      // changes lists rules in table order: putting every rule, they are the snapshot's rules
      if (put.length === after.size) allRules = { rules: after, groups };
      pieces.push(`${next()}"put":[`, ...(await ruleLines(groups, '', slicer)), ']');
    }
  }
  if (to.interfaces !== from.interfaces) pieces.push(`${next()}"interfaces":${JSON.stringify(sortedInterfaces(to.interfaces))}`);
  if (!pieces.length) return undefined;
  pieces.push('}\n');
  return allRules ? { pieces, allRules } : { pieces };
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

/** The keys of an owner in a stored shared rule (its values are checked as a rule's, with the rule's identity). */
const storedOwnerSchema = z.strictObject({
  service: z.string(),
  action: z.string(),
  tproxyPort: z.number().optional(),
  interfaces: z.array(z.string()),
});

/**
 * A stored rule that several services share: each of its `owners` checked as a rule of its own
 * with the rule's identity (the API's checks) and naming its service; the rule in force is made
 * from them again (rule-owners.ts), whatever the stored one says.
 */
function sharedRule(input: Record<string, unknown>, file: string, at: readonly (string | number)[]): Rule {
  const { owners, action: _action, tproxyPort: _port, interfaces: _interfaces, service: _service, ...identity } = input;
  if (!Array.isArray(owners) || owners.length < 2) {
    throw stateFileError(file, [`${[...at, 'owners'].join('.')}: owners must be an array of two or more services' rules`]);
  }
  let first: Rule | undefined;
  const wishes: RuleOwner[] = owners.map((owner, k) => {
    const shape = storedOwnerSchema.safeParse(owner);
    if (!shape.success) throw stateFileError(file, zodProblems(shape.error, [...at, 'owners', k]));
    const parsed = ruleInputSchema.safeParse({ ...identity, ...shape.data });
    if (!parsed.success) throw stateFileError(file, zodProblems(parsed.error, [...at, 'owners', k]));
    const checked = toRule(parsed.data);
    if (!checked.ok) throw stateFileError(file, checked.issues.map((issue) => `${[...at, 'owners', k, ...issue.path].join('.')}: ${issue.message}`));
    const r = checked.value;
    first ??= r;
    return { service: r.service!, action: r.action, ...(r.tproxyPort !== undefined && { tproxyPort: r.tproxyPort }), interfaces: r.interfaces };
  });
  return ruleOf(first!, wishes);
}

/** Checks and normalises the stored rules (the API's checks: the fast path, else zod for the message). */
async function putRules(draft: RuleTableDraft, inputs: readonly unknown[], file: string, at: readonly (string | number)[], slicer: TimeSlicer): Promise<void> {
  for (let i = 0; i < inputs.length; i++) {
    if ((i & 255) === 0) await slicer.pause();
    const input = inputs[i];
    if (typeof input === 'object' && input !== null && 'owners' in input) {
      const shared = sharedRule(input as Record<string, unknown>, file, [...at, i]);
      draft.set(ruleKey(shared), shared);
      continue;
    }
    const rule = checkRuleInput(input);
    if (rule !== undefined) {
      draft.set(ruleKey(rule), rule);
      continue;
    }
    const parsed = ruleInputSchema.safeParse(input);
    if (!parsed.success) throw stateFileError(file, zodProblems(parsed.error, [...at, i]));
    const checked = toRule(parsed.data);
    if (checked.ok) draft.set(ruleKey(checked.value), checked.value); // the schema ran toRule: always ok
  }
}

/** Removes the rules of the identities (each checked). */
async function deleteRules(draft: RuleTableDraft, identities: readonly unknown[], file: string, at: readonly (string | number)[], slicer: TimeSlicer): Promise<void> {
  for (let i = 0; i < identities.length; i++) {
    if ((i & 255) === 0) await slicer.pause();
    const parsed = identitySchema.safeParse(identities[i]);
    if (!parsed.success) throw stateFileError(file, zodProblems(parsed.error, [...at, i]));
    draft.delete(ruleKey(parsed.data));
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

/** Parses the text of a snapshot (whole or in pieces); throws ZitiSourceError naming every problem. */
export async function parseState(text: string | readonly string[], file: string, slicer: TimeSlicer = new TimeSlicer()): Promise<ZitiState> {
  let json: unknown;
  try {
    json = await parseJsonInSlices(text, slicer);
  } catch (err) {
    const whole = typeof text === 'string' ? text : text.join('');
    throw new ZitiSourceError('ERR_ZITI_STATE_FILE', `state file ${file} is not JSON (fix or remove it): ${notJsonProblem(whole, err)}`);
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) throw stateFileError(file, zodProblems(parsed.error, []));
  const rules = RuleTable.empty.edit();
  await putRules(rules, parsed.data.rules, file, ['rules'], slicer);
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
export async function replayJournal(state: ZitiState, text: string, file: string, slicer: TimeSlicer = new TimeSlicer()): Promise<JournalReplay> {
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
      json = await parseJsonInSlices(line, slicer);
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
    await deleteRules(draft, record.delete ?? [], file, [`line ${n + 1}`, 'delete'], slicer);
    await putRules(draft, record.put ?? [], file, [`line ${n + 1}`, 'put'], slicer);
    rules = draft.done();
    if (record.interfaces) interfaces = settingsOf(record.interfaces);
    records++;
  }
  const torn = last.length > 0 ? { line: lines.length + 1, offset, bytes: Buffer.byteLength(last) } : undefined;
  return { state: { rules, interfaces }, records, ...(torn && { torn }) };
}
