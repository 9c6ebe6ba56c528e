/**
 * A fast path in front of the zod validation of the rule bodies. zod costs ~5 µs per rule, which a
 * batch of 100,000 rules turns into half a second; these hand-written checks cost a fraction of
 * that. They only ever ACCEPT: a body they accept is one the zod schema accepts with an identical
 * output (the schemas have no transforms or defaults, so the output is the input). Anything else
 * goes to zod, which produces the error messages, so errors are exactly what they were.
 * test/fast-validation.test.ts checks "accepted here => accepted by zod, same output" on random
 * bodies. A body accepted here keeps what it was normalised to (normalisedRule, normalisedSelector,
 * normalisedBatch), so the handler does not check and normalise it a second time.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { ZodType } from 'zod';
import { runSteps, runStepsInSlices, type Steps, type TimeSlicer } from '@bpfsteer/agent-kernel';
import { isInterfaceName, isServiceId, type Rule, type RuleSelector } from '../rule.js';
import { toRule, toSelector, type RuleInput, type SelectorInput } from '../rule-input.js';
import type { GroupConverter } from '../parse-json-in-slices.js';
import type { Operation } from '../rule-store.js';
import { batchSchema, MAX_BATCH_OPERATIONS, MAX_CIDR_TEXT, MAX_LISTENING_PORTS, MAX_RULE_INTERFACES, ruleInputSchema, selectorInputSchema } from './schemas.js';

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535;
}

function isCidrText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_CIDR_TEXT;
}

function isPorts(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  let low = false;
  for (const key in value) {
    if (key === 'low') low = isPort(value.low);
    else if (key !== 'high' || !isPort(value.high)) return false;
  }
  return low;
}

function isInterfaceList(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > MAX_RULE_INTERFACES) return false;
  for (let i = 0; i < value.length; i++) if (!isInterfaceName(value[i])) return false;
  return true;
}

/** The fields shared by a rule and a selector; false for any other key or a bad value. */
function identityField(key: string, value: unknown): boolean {
  switch (key) {
    case 'destination':
    case 'source':
      return isCidrText(value);
    case 'protocol':
      return value === 'tcp' || value === 'udp';
    case 'ports':
      return isPorts(value);
    case 'interfaces':
      return isInterfaceList(value);
    default:
      return false;
  }
}

/** The normalised rule when `value` passes ruleInputSchema (structure, then toRule); else undefined. */
export function checkRuleInput(value: unknown): Rule | undefined {
  if (!isPlainObject(value)) return undefined;
  for (const key in value) {
    const v = value[key];
    switch (key) {
      case 'action':
        if (v !== 'divert' && v !== 'pass' && v !== 'deny') return undefined;
        break;
      case 'tproxyPort':
        if (!isPort(v)) return undefined;
        break;
      case 'service':
        if (!isServiceId(v)) return undefined;
        break;
      default:
        if (!identityField(key, v)) return undefined;
    }
  }
  if (value.destination === undefined || value.protocol === undefined || value.ports === undefined) return undefined;
  const checked = toRule(value as unknown as RuleInput);
  return checked.ok ? checked.value : undefined;
}

/** True only when `value` passes ruleInputSchema. */
export function isValidRuleInput(value: unknown): value is RuleInput {
  return checkRuleInput(value) !== undefined;
}

/** The normalised selector when `value` passes selectorInputSchema; else undefined. */
function isPortList(value: unknown): boolean {
  if (!Array.isArray(value) || value.length > MAX_LISTENING_PORTS) return false;
  for (let i = 0; i < value.length; i++) if (!isPort(value[i])) return false;
  return true;
}

function isListening(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  let keys = 0;
  for (const key in value) {
    if ((key !== 'tcp' && key !== 'udp') || !isPortList(value[key])) return false;
    keys++;
  }
  return keys === 2;
}

export function checkSelectorInput(value: unknown): RuleSelector | undefined {
  if (!isPlainObject(value)) return undefined;
  for (const key in value) {
    const v = value[key];
    if (key === 'service' ? !isServiceId(v) : key === 'listening' ? !isListening(v) : !identityField(key, v)) return undefined;
  }
  if (value.destination === undefined || value.protocol === undefined || value.ports === undefined) return undefined;
  const checked = toSelector(value as unknown as SelectorInput);
  return checked.ok ? checked.value : undefined;
}

/** True only when `value` passes selectorInputSchema. */
export function isValidSelectorInput(value: unknown): value is SelectorInput {
  return checkSelectorInput(value) !== undefined;
}

function checkOperation(value: unknown): Operation | undefined {
  if (!isPlainObject(value)) return undefined;
  let keys = 0;
  for (const key in value) {
    if (key !== 'op' && key !== 'rule') return undefined;
    keys++;
  }
  if (keys !== 2) return undefined;
  if (value.op === 'insert') {
    const rule = checkRuleInput(value.rule);
    return rule && { op: 'insert', rule };
  }
  if (value.op === 'delete') {
    const selector = checkSelectorInput(value.rule);
    return selector && { op: 'delete', selector };
  }
  return undefined;
}

/** The operations array of a batch body of the right shape and length; else undefined. */
function batchOperations(value: unknown): unknown[] | undefined {
  if (!isPlainObject(value)) return undefined;
  for (const key in value) if (key !== 'operations') return undefined;
  const operations = value.operations;
  if (!Array.isArray(operations) || operations.length < 1 || operations.length > MAX_BATCH_OPERATIONS) return undefined;
  return operations;
}

/** The normalised operations of a batch (undefined: it does not pass batchSchema); yields every 256. */
function* batchSteps(value: unknown): Steps<Operation[] | undefined> {
  const operations = batchOperations(value);
  if (operations === undefined) return undefined;
  const out = new Array<Operation>(operations.length);
  for (let i = 0; i < operations.length; i++) {
    if ((i & 255) === 255) yield;
    const operation = checkOperation(operations[i]);
    if (operation === undefined) return undefined;
    out[i] = operation;
  }
  return out;
}

/** The normalised operations when `value` passes batchSchema; else undefined. */
export function checkBatch(value: unknown): Operation[] | undefined {
  return runSteps(batchSteps(value));
}

/** checkBatch in slices of `slicer`'s budget (a batch of 100,000 rules takes ~100 ms to check). */
export function checkBatchInSlices(value: unknown, slicer: TimeSlicer): Promise<Operation[] | undefined> {
  return runStepsInSlices(batchSteps(value), slicer);
}

/** True only when `value` passes batchSchema. */
export function isValidBatch(value: unknown): boolean {
  return checkBatch(value) !== undefined;
}

/**
 * What the fast path made of the bodies it accepted (the normalised rule, selector or operations),
 * by body object: the handler takes it instead of normalising the body again.
 */
const normalised = new WeakMap<object, Rule | RuleSelector | readonly Operation[]>();
/** Batch bodies the fast path checked in slices and refused (zod checks them for the message). */
const refusedBatches = new WeakSet<object>();

/** The normalised rule of a rule body the fast path accepted (undefined: zod checked it). */
export function normalisedRule(body: object): Rule | undefined {
  return normalised.get(body) as Rule | undefined;
}

/** The normalised selector of a selector body the fast path accepted (undefined: zod checked it). */
export function normalisedSelector(body: object): RuleSelector | undefined {
  return normalised.get(body) as RuleSelector | undefined;
}

/** The normalised operations of a batch body the fast path accepted (undefined: zod checked it). */
export function normalisedBatch(body: object): readonly Operation[] | undefined {
  return normalised.get(body) as readonly Operation[] | undefined;
}

/**
 * Runs the batch fast path in slices before the (synchronous) validation: the batch route's
 * preValidation. The validator then only looks the result up.
 */
export async function precheckBatch(body: unknown, slicer: TimeSlicer): Promise<void> {
  if (typeof body !== 'object' || body === null || normalised.has(body)) return; // (checked while it was parsed)
  const operations = await checkBatchInSlices(body, slicer);
  if (operations) normalised.set(body, operations);
  else refusedBatches.add(body);
}

/** A fast check that keeps what it made of an accepted body (an object: the API's bodies are). */
function remembering(check: (value: unknown) => Rule | RuleSelector | readonly Operation[] | undefined): (value: unknown) => boolean {
  return (value) => {
    const made = check(value);
    if (made === undefined) return false;
    normalised.set(value as object, made);
    return true;
  };
}

function fastBatchCheck(value: unknown): boolean {
  if (typeof value === 'object' && value !== null) {
    if (normalised.has(value)) return true;
    if (refusedBatches.has(value)) return false;
  }
  const operations = checkBatch(value);
  if (operations) normalised.set(value as object, operations);
  return operations !== undefined;
}

const fastChecks = new Map<ZodType, (value: unknown) => boolean>([
  [ruleInputSchema, remembering(checkRuleInput)],
  [selectorInputSchema, remembering(checkSelectorInput)],
  [batchSchema, fastBatchCheck],
]);

/**
 * Wraps a fastify validator compiler (the zod type provider's): the body schemas of the rule
 * routes get the fast path first; everything it does not accept goes to `fallback`.
 */
export function withFastPath(fallback: FastifySchemaCompiler<ZodType>): FastifySchemaCompiler<ZodType> {
  return (route) => {
    const slow = fallback(route);
    const fast = route.httpPart === 'body' ? fastChecks.get(route.schema) : undefined;
    if (!fast) return slow;
    return (data: unknown) => (fast(data) ? { value: data } : slow(data));
  };
}

/** What a batch body's converter met that the fast path does not accept: the body is parsed again as it is. */
export class NotAFastBatch extends Error {}

/** Checks a batch body's operations while it is parsed (see batchBodyConverter). */
export interface BatchBodyConverter {
  /** for parseJsonInSlices: the operations of a group, checked and normalised; throws NotAFastBatch at the first it refuses */
  readonly convert: GroupConverter;
  /** how many operations it converted */
  readonly converted: number;
  /** whether `body` is a batch of exactly the operations it converted (then the fast path knows it: normalisedBatch) */
  accept(body: unknown): boolean;
}

/**
 * A converter that checks and normalises a large batch body's operations group by group while it
 * is parsed, as batchSteps would after the parse: the raw elements of 100,000 operations then die
 * young instead of living (and being promoted by the collector) until the whole body is parsed.
 * Anything it does not accept is parsed again as it is, and the usual path (zod) names the problem.
 */
export function batchBodyConverter(): BatchBodyConverter {
  let converted = 0;
  let last: Operation | undefined; // the last operation made: a body parsed again whole does not hold it
  return {
    convert(group, member) {
      if (member !== 'operations') throw new NotAFastBatch();
      const out = new Array<Operation>(group.length);
      for (let i = 0; i < group.length; i++) {
        const operation = checkOperation(group[i]);
        if (operation === undefined) throw new NotAFastBatch();
        out[i] = operation;
      }
      converted += group.length;
      if (converted > MAX_BATCH_OPERATIONS) throw new NotAFastBatch();
      if (out.length > 0) last = out[out.length - 1];
      return out;
    },
    get converted() {
      return converted;
    },
    accept(body) {
      const operations = batchOperations(body);
      if (operations === undefined || converted === 0 || operations.length !== converted || operations.at(-1) !== last) return false;
      normalised.set(body as object, operations as Operation[]);
      return true;
    },
  };
}
