/**
 * The `tproxy.rule` intent: a (destination, source, protocol, port range) flow to divert to a local
 * tproxy listener, let pass, or deny. Identity: (destination, source, protocol, ports.low, ports.high).
 */
import { canonicalPrefix } from '@bpfsteer/ip';
import { z } from 'zod';
import { interfaceNameSchema } from './interface-name.js';
import { TPROXY_RULE_KIND } from './kinds.js';

function cidrSchema(what: string) {
  return z.string().superRefine((value, ctx) => {
    const p = canonicalPrefix(value);
    if (!p.ok) ctx.addIssue({ code: 'custom', message: `${what} ${p.error.message}` });
  });
}

const portSchema = z
  .number({ error: 'a port is an integer 0..65535' })
  .int('a port is an integer 0..65535')
  .min(0, 'a port is an integer 0..65535')
  .max(65535, 'a port is an integer 0..65535');

/** The types of the fields (without the checks of their values). */
const ruleShape = {
  destination: z.string(),
  source: z.string(),
  protocol: z.enum(['tcp', 'udp'], { error: 'protocol must be "tcp" or "udp"' }),
  ports: z.strictObject({ low: portSchema, high: portSchema }),
  action: z.enum(['divert', 'pass', 'deny'], { error: 'action must be "divert", "pass" or "deny"' }),
  /** the local tproxy listener's port: required iff action is "divert" */
  tproxyPort: z.number().int().min(1).max(65535).optional(),
  interfaces: z.array(z.string()).optional(),
  service: z.string().optional(),
};

type RuleFields = z.output<z.ZodObject<typeof ruleShape>>;

/** The checks across fields: tproxyPort iff divert, one address family. */
function checkRule(v: RuleFields, ctx: z.RefinementCtx): void {
  if (v.action === 'divert' && v.tproxyPort === undefined) {
    ctx.addIssue({ code: 'custom', path: ['tproxyPort'], message: 'a divert rule needs tproxyPort (1..65535), the port of the local tproxy listener' });
  }
  if (v.action !== 'divert' && v.tproxyPort !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['tproxyPort'], message: `tproxyPort is only allowed with action "divert", not "${v.action}"` });
  }
  const d = canonicalPrefix(v.destination);
  const s = canonicalPrefix(v.source);
  if (d.ok && s.ok && d.value.family !== s.value.family) {
    ctx.addIssue({
      code: 'custom',
      path: ['source'],
      message: `source ${v.source} is IPv${s.value.family} but destination ${v.destination} is IPv${d.value.family}; both must be the same family`,
    });
  }
}

/** One `tproxy.rule` intent without `kind` (as the agent and the plugin validate it). */
export const tproxyRuleIntentSchema = z
  .strictObject({
    ...ruleShape,
    /** destination CIDR, host bits cleared ("10.0.0.0/24", "fd00::/64"; a bare address is a host prefix) */
    destination: cidrSchema('destination'),
    /** source CIDR of the same family; "0.0.0.0/0" / "::/0" = any */
    source: cidrSchema('source'),
    ports: ruleShape.ports.refine((p) => p.low <= p.high, { message: 'ports.low must not be greater than ports.high', path: ['high'] }),
    /** interface names; absent or [] = every attached interface */
    interfaces: z
      .array(interfaceNameSchema)
      .max(64)
      .refine((l) => new Set(l).size === l.length, 'each interface may be listed once')
      .optional(),
    /** ziti service id (informational) */
    service: z.string().max(256).optional(),
  })
  .superRefine(checkRule);

/**
 * A `tproxy.rule` intent with its `kind`, its fields' types only: the shape of the intents the
 * plugin reports in its describe view (it reports only intents it accepted, so their values are not
 * checked again: a view of 100,000 rules is read at every listing).
 */
export const tproxyRuleIntentShapeSchema = z.strictObject({ kind: z.literal(TPROXY_RULE_KIND), ...ruleShape });

/** The fields of a `tproxy.rule` intent. */
export type TproxyRuleFields = Readonly<z.output<typeof tproxyRuleIntentSchema>>;

/** A `tproxy.rule` intent as a source publishes it. */
export type TproxyRuleIntent = TproxyRuleFields & { readonly kind: typeof TPROXY_RULE_KIND };
