/**
 * The zod schemas of the HTTP API (requests and responses). They validate every request before a
 * handler runs and generate the OpenAPI document. The semantic checks (CIDRs, families, port order,
 * action vs. tproxy port) are the pure functions of rule-input.ts, run inside the schemas.
 */
import { tproxyInterfaceViewSchema } from '@bpfsteer/contract-tproxy';
import { z } from 'zod';
import { actions, interfaceNameRule, isInterfaceName, isServiceId, protocols, serviceIdRule } from '../rule.js';
import { toRule, toSelector, type InputIssue } from '../rule-input.js';

/**
 * The named schemas of the API (components of the OpenAPI document). A private registry: the API's
 * ids never collide with other schemas in the process.
 */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

/** Most operations one batch may carry. */
export const MAX_BATCH_OPERATIONS = 250_000;
/** The longest address/CIDR text accepted. */
export const MAX_CIDR_TEXT = 64;
/** Most interfaces one rule may name. */
export const MAX_RULE_INTERFACES = 64;
/** ports of each protocol in a delete's `listening` (every port there is) */
export const MAX_LISTENING_PORTS = 65536;

const port = (what: string) =>
  z
    .number({ error: `${what} must be an integer 0..65535` })
    .int({ error: `${what} must be an integer 0..65535` })
    .min(0, { error: `${what} must be an integer 0..65535` })
    .max(65535, { error: `${what} must be an integer 0..65535` });

const cidrText = (what: string) =>
  z
    .string({ error: `${what} must be a string: an IPv4/IPv6 address or CIDR, e.g. "10.0.0.0/24", "10.0.0.1", "fd00::/64"` })
    .max(MAX_CIDR_TEXT, { error: `${what} is longer than ${MAX_CIDR_TEXT} characters; expected an address or CIDR` })
    .meta({ description: `${what}: address or CIDR; a bare address means /32 or /128; host bits must be clear (10.0.0.1/24 is refused)` });

export const interfaceNameSchema = z
  .string({ error: `must be ${interfaceNameRule}` })
  .refine(isInterfaceName, { error: `must be ${interfaceNameRule}` })
  .meta({ description: 'Linux interface name', example: 'eth0' });

const protocolSchema = z.enum(protocols, { error: 'protocol must be "tcp" or "udp"' });

/** The message for a value that is not an object (other object issues keep zod's message). */
const notAnObject =
  (message: string) =>
  (issue: { code: string }): string | undefined =>
    issue.code === 'invalid_type' ? message : undefined;

/** `ports` of a rule or a selector: { low, high? }; `high` described as given. */
const portsSchema = (highDescription: string) =>
  z.strictObject(
    {
      low: port('ports.low'),
      high: port('ports.high').optional().meta({ description: highDescription }),
    },
    { error: notAnObject('ports must be an object { low, high? } of integers 0..65535') },
  );

/** `interfaces` of a rule or a selector: at most MAX_RULE_INTERFACES names. */
const interfacesSchema = (tooMany: string, description: string) =>
  z
    .array(interfaceNameSchema, { error: 'interfaces must be an array of interface names' })
    .max(MAX_RULE_INTERFACES, { error: tooMany })
    .optional()
    .meta({ description });

const listeningPorts = (what: string) =>
  z.array(port(`${what}[]`), { error: `${what} must be an array of ports` }).max(MAX_LISTENING_PORTS, { error: `${what}: at most ${MAX_LISTENING_PORTS} ports` });

function addIssues(ctx: z.RefinementCtx, issues: readonly InputIssue[]): void {
  for (const issue of issues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
}

export const ruleInputSchema = z
  .strictObject({
    destination: cidrText('destination'),
    source: cidrText('source').optional(),
    protocol: protocolSchema,
    ports: portsSchema('defaults to low'),
    action: z
      .enum(actions, { error: 'action must be "divert", "pass" or "deny"' })
      .optional()
      .meta({ description: 'default: "divert" when tproxyPort > 0, else "pass"' }),
    tproxyPort: port('tproxyPort').optional().meta({ description: '1..65535 for divert; 0 or absent otherwise' }),
    interfaces: interfacesSchema(`at most ${MAX_RULE_INTERFACES} interfaces per rule`, 'added to the rule\'s list; absent/empty on a new rule = every attached interface'),
    service: z
      .string({ error: `service must be ${serviceIdRule}` })
      .refine(isServiceId, { error: `service must be ${serviceIdRule}` })
      .optional(),
  }, { error: notAnObject('a rule must be an object') })
  .superRefine((value, ctx) => {
    const checked = toRule(value);
    if (!checked.ok) addIssues(ctx, checked.issues);
  })
  .register(apiSchemas, { id: 'NewRule', description: 'a rule to insert (idempotent; an existing identity is updated)' });

export const selectorInputSchema = z
  .strictObject({
    destination: cidrText('destination'),
    source: cidrText('source').optional(),
    protocol: protocolSchema,
    ports: portsSchema('absent: every rule with this low port'),
    interfaces: interfacesSchema(`at most ${MAX_RULE_INTERFACES} interfaces`, 'remove only these interfaces from the rule (it goes when none is left)'),
    service: z
      .string({ error: `service must be ${serviceIdRule}` })
      .refine(isServiceId, { error: `service must be ${serviceIdRule}` })
      .optional()
      .meta({ description: 'of a rule several services share: remove only this service\'s wish' }),
    listening: z
      .strictObject(
        { tcp: listeningPorts('listening.tcp'), udp: listeningPorts('listening.udp') },
        { error: notAnObject('listening must be an object { tcp: [ports], udp: [ports] }') },
      )
      .optional()
      .meta({
        description:
          'of a rule several services share, when no service is named: the tproxy ports listening where the caller runs; the wishes whose listener is gone are removed (every wish when all listen)',
      }),
  }, { error: notAnObject('a rule selector must be an object') })
  .superRefine((value, ctx) => {
    const checked = toSelector(value);
    if (!checked.ok) addIssues(ctx, checked.issues);
  })
  .register(apiSchemas, { id: 'RuleSelector', description: 'the rule(s) to delete' });

export const batchSchema = z
  .strictObject({
    operations: z
      .array(
        z.discriminatedUnion(
          'op',
          [
            z.strictObject({ op: z.literal('insert'), rule: ruleInputSchema }),
            z.strictObject({ op: z.literal('delete'), rule: selectorInputSchema }),
          ],
          { error: 'each operation must be { op: "insert", rule } or { op: "delete", rule }' },
        ),
        { error: 'operations must be an array' },
      )
      .min(1, { error: 'operations must not be empty' })
      .max(MAX_BATCH_OPERATIONS, { error: `at most ${MAX_BATCH_OPERATIONS} operations per batch` }),
  }, { error: notAnObject('a batch must be an object { operations: [...] }') })
  .register(apiSchemas, { id: 'Batch', description: 'inserts and deletes applied in order as one commit: all or nothing' });

export const interfaceSettingsSchema = z
  .strictObject({
    ssh: z.boolean({ error: 'ssh must be true or false' }).optional().meta({ description: 'let SSH to the interface\'s own addresses in' }),
    echo: z.boolean({ error: 'echo must be true or false' }).optional().meta({ description: 'let ICMP echo requests in' }),
    ipv6: z.boolean({ error: 'ipv6 must be true or false' }).optional(),
    events: z
      .strictObject(
        {
          drops: z.boolean({ error: 'events.drops must be true or false' }).optional(),
          diverts: z.boolean({ error: 'events.diverts must be true or false' }).optional(),
        },
        { error: notAnObject('events must be an object { drops?, diverts? }') },
      )
      .optional(),
  }, { error: notAnObject('interface settings must be an object') })
  .register(apiSchemas, { id: 'InterfaceSettings', description: 'overrides of the plugin config; absent fields keep their current value' });

export const interfaceParamsSchema = z.strictObject({ name: interfaceNameSchema });

export const listQuerySchema = z.strictObject({
  filter: z
    .enum(['all', 'intercepts', 'passthrough'], { error: 'filter must be "all", "intercepts" or "passthrough"' })
    .optional()
    .meta({ description: 'intercepts: divert rules; passthrough: pass rules; default all' }),
});

// ---------------------------------------------------------------- responses

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'stable error code, e.g. ERR_VALIDATION' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .register(apiSchemas, { id: 'Error' });

export const ruleOwnerSchema = z
  .object({
    service: z.string(),
    action: z.enum(actions),
    tproxyPort: z.number().int().optional(),
    interfaces: z.array(z.string()),
  })
  .register(apiSchemas, { id: 'RuleOwner', description: 'one service\'s wish for a rule several services share' });

export const ruleSchema = z
  .object({
    destination: z.string(),
    source: z.string(),
    protocol: z.enum(protocols),
    ports: z.object({ low: z.number().int(), high: z.number().int() }),
    action: z.enum(actions),
    tproxyPort: z.number().int().optional(),
    interfaces: z.array(z.string()),
    service: z.string().optional(),
    owners: z
      .array(ruleOwnerSchema)
      .optional()
      .meta({ description: 'when several services share the rule: each one\'s wish, the latest (in force) last; interfaces are all of theirs' }),
  })
  .register(apiSchemas, { id: 'Rule' });

export const listedRuleSchema = ruleSchema
  .extend({
    id: z.number().nullable().meta({ description: 'the rule id in the datapath; null when not applied' }),
    packets: z.number().nullable(),
    bytes: z.number().nullable(),
    problem: z.string().optional().meta({ description: 'why the rule diverts nothing now: no listener at 127.0.0.1 / ::1 on its tproxy port (the plugin checks its netns)' }),
  })
  .register(apiSchemas, { id: 'ListedRule' });

export const ruleListSchema = z
  .object({
    capacity: z.number().nullable().meta({ description: 'most rules the datapath holds; null when unknown' }),
    total: z.number().meta({ description: 'rules in the store' }),
    count: z.number().meta({ description: 'rules in this list (after the filter)' }),
    counters: z.boolean().meta({ description: 'whether the plugin reported counters' }),
    rules: z.array(listedRuleSchema),
  })
  .register(apiSchemas, { id: 'RuleList' });

export const insertResultSchema = z
  .object({ outcome: z.enum(['created', 'updated', 'unchanged']), rule: ruleSchema })
  .register(apiSchemas, { id: 'InsertResult' });

export const deleteResultSchema = z
  .object({
    removed: z.array(ruleSchema).meta({ description: 'rules removed' }),
    narrowed: z.array(ruleSchema).meta({ description: 'rules that lost interfaces but remain' }),
  })
  .register(apiSchemas, { id: 'DeleteResult' });

export const batchResultSchema = z
  .object({
    operations: z.number(),
    created: z.number(),
    updated: z.number(),
    unchanged: z.number(),
    removed: z.number(),
    narrowed: z.number(),
  })
  .register(apiSchemas, { id: 'BatchResult' });

export const flushResultSchema = z.object({ removed: z.number() }).register(apiSchemas, { id: 'FlushResult' });

/** The plugin's view of an interface (@bpfsteer/contract-tproxy), without the name the response carries beside it. */
export const liveInterfaceSchema = z
  .object(tproxyInterfaceViewSchema.shape)
  .omit({ name: true })
  .register(apiSchemas, { id: 'LiveInterface' });

const settingsOutSchema = z.object({
  ssh: z.boolean().optional(),
  echo: z.boolean().optional(),
  ipv6: z.boolean().optional(),
  events: z.object({ drops: z.boolean().optional(), diverts: z.boolean().optional() }).optional(),
});

export const interfaceListSchema = z
  .object({
    interfaces: z.array(
      z.object({
        name: z.string(),
        settings: settingsOutSchema.meta({ description: 'the overrides stored by this source' }),
        live: liveInterfaceSchema.nullable().meta({ description: 'what the plugin applies, with counters; null when unknown' }),
      }),
    ),
  })
  .register(apiSchemas, { id: 'InterfaceList' });

export const interfaceResultSchema = z
  .object({ name: z.string(), settings: settingsOutSchema, changed: z.boolean() })
  .register(apiSchemas, { id: 'InterfaceResult' });

export const versionSchema = z
  .object({ name: z.string(), version: z.string(), api: z.literal('v1') })
  .register(apiSchemas, { id: 'Version' });

const commitNoteSchema = z.object({
  ok: z.boolean(),
  at: z.string(),
  reason: z.string().optional(),
  error: z.string().optional(),
});

export const healthSchema = z
  .object({
    ok: z.boolean().meta({ description: 'the source serves: applied and dataplane (else the status is 503)' }),
    loading: z.boolean().meta({ description: 'the saved rules are being read at start (not ok meanwhile; requests that change rules wait for them)' }),
    applied: z.boolean().meta({ description: 'the stored rules are applied (false when the saved rules were refused at start, until a change is applied)' }),
    dataplane: z.boolean().meta({ description: 'a running plugin consumes the rules' }),
    rules: z.number(),
    interfaces: z.number(),
    lastCommit: commitNoteSchema.nullable().meta({ description: 'the outcome of the last commit' }),
    lastError: commitNoteSchema
      .nullable()
      .meta({ description: 'the last commit the agent refused (a refused request changes nothing and does not make the health 503)' }),
  })
  .register(apiSchemas, { id: 'Health' });

export type RuleInputBody = z.output<typeof ruleInputSchema>;
export type SelectorInputBody = z.output<typeof selectorInputSchema>;
export type BatchBody = z.output<typeof batchSchema>;
export type InterfaceSettingsBody = z.output<typeof interfaceSettingsSchema>;
