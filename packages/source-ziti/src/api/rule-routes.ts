/** The rule endpoints: list, insert, delete, batch, flush. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { toRule, toSelector, type RuleInput, type SelectorInput } from '../rule-input.js';
import type { Operation } from '../rule-store.js';
import type { ZitiService } from '../ziti-service.js';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { batchBodyConverter, normalisedBatch, normalisedRule, normalisedSelector, precheckBatch } from './fast-validation.js';
import type { BodyConverterConfig } from './json-body-parser.js';
import { ruleListJson } from './rule-list-json.js';
import { ruleView } from './rule-view.js';
import {
  batchResultSchema,
  batchSchema,
  deleteResultSchema,
  errorSchema,
  flushResultSchema,
  insertResultSchema,
  listQuerySchema,
  ruleInputSchema,
  ruleListSchema,
  selectorInputSchema,
} from './schemas.js';

const refusals = { 400: errorSchema, 401: errorSchema, 413: errorSchema, 415: errorSchema, 422: errorSchema, 500: errorSchema, 503: errorSchema };

/** The schema already ran these checks; a failure here is a bug, reported as a 400 all the same. */
function rule(input: RuleInput, path: (string | number)[] = []) {
  const checked = toRule(input);
  if (!checked.ok) throw new ApiError('ERR_VALIDATION', checked.issues.map((i) => i.message).join('; '), { path });
  return checked.value;
}

function selector(input: SelectorInput, path: (string | number)[] = []) {
  const checked = toSelector(input);
  if (!checked.ok) throw new ApiError('ERR_VALIDATION', checked.issues.map((i) => i.message).join('; '), { path });
  return checked.value;
}

/** POST /v1/rules once its body matched the schema: the answer's body (also the diverter's in-process insert). */
export async function insertRule(service: ZitiService, body: RuleInput) {
  const result = await service.insert(normalisedRule(body) ?? rule(body));
  return { outcome: result.outcome, rule: ruleView(result.rule) };
}

/** POST /v1/rules/delete once its body matched the schema: the answer's body (also the diverter's in-process delete). */
export async function deleteRule(service: ZitiService, body: SelectorInput) {
  const result = await service.delete(normalisedSelector(body) ?? selector(body));
  return { removed: result.removed.map(ruleView), narrowed: result.narrowed.map(ruleView) };
}

export function registerRuleRoutes(app: FastifyInstance, service: ZitiService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/rules', {
    schema: {
      summary: 'List the rules with their counters',
      tags: ['rules'],
      querystring: listQuerySchema,
      response: { 200: ruleListSchema, ...refusals },
    },
    // the body is made in slices (the same JSON text ruleListSchema's serializer would make; the
    // schema still documents the route): serialising 100,000 rules in one step stalls the agent
    handler: async (request, reply) => {
      const slicer = new TimeSlicer();
      const list = await service.listRules(request.query.filter ?? 'all', slicer);
      const { chunks, bytes } = await ruleListJson(list, slicer);
      // the JSON text of ruleListSchema's type, already serialised: the type provider only knows the object form
      const body = Readable.from(chunks) as never;
      return reply.header('content-type', 'application/json; charset=utf-8').header('content-length', bytes).send(body);
    },
  });

  r.post('/v1/rules', {
    schema: {
      summary: 'Insert one rule (idempotent: an existing identity is updated)',
      tags: ['rules'],
      body: ruleInputSchema,
      response: { 200: insertResultSchema, ...refusals },
    },
    handler: async (request) => insertRule(service, request.body),
  });

  r.post('/v1/rules/delete', {
    schema: {
      summary: 'Delete one rule, or some interfaces of it (ports.high absent: every rule with that low port)',
      tags: ['rules'],
      body: selectorInputSchema,
      response: { 200: deleteResultSchema, 404: errorSchema, ...refusals },
    },
    handler: async (request) => deleteRule(service, request.body),
  });

  r.post('/v1/rules/batch', {
    schema: {
      summary: 'Apply inserts and deletes in order as ONE commit: all or nothing',
      tags: ['rules'],
      body: batchSchema,
      response: { 200: batchResultSchema, 404: errorSchema, ...refusals },
    },
    // a large batch's operations are checked while it is parsed (json-body-parser.ts); the checks of
    // one parsed whole run in slices before the validator (which is synchronous) looks them up
    config: { bodyConverter: batchBodyConverter } satisfies BodyConverterConfig,
    preValidation: async (request) => precheckBatch(request.body, new TimeSlicer()),
    handler: async (request) => {
      const operations =
        normalisedBatch(request.body) ??
        request.body.operations.map((o, i): Operation =>
          o.op === 'insert'
            ? { op: 'insert', rule: rule(o.rule, ['operations', i, 'rule']) }
            : { op: 'delete', selector: selector(o.rule, ['operations', i, 'rule']) },
        );
      return service.batch(operations);
    },
  });

  r.post('/v1/rules/flush', {
    schema: {
      summary: 'Remove every rule',
      tags: ['rules'],
      response: { 200: flushResultSchema, ...refusals },
    },
    handler: async () => service.flush(),
  });
}
