/**
 * The intent kinds this plugin consumes (`tproxy.rule`, `tproxy.interface`), their zod schemas
 * (one intent without `kind`, as the agent validates them at the edge) and the event topic.
 */
import { z } from 'zod';
import { interfaceNameProblem } from './interface-name.js';
import { parseKeyPrefix } from './key-prefix.js';

export const TPROXY_RULE_KIND = 'tproxy.rule';
export const TPROXY_INTERFACE_KIND = 'tproxy.interface';
export const TPROXY_EVENT_TOPIC = 'tproxy.event';

function cidrSchema(what: string) {
  return z.string().superRefine((value, ctx) => {
    const p = parseKeyPrefix(value);
    if (!p.ok) ctx.addIssue({ code: 'custom', message: `${what} ${p.error.message}` });
  });
}

export const interfaceNameSchema = z.string().superRefine((value, ctx) => {
  const problem = interfaceNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid interface name ${JSON.stringify(value)}: ${problem}` });
});

const portSchema = z
  .number({ error: 'a port is an integer 0..65535' })
  .int('a port is an integer 0..65535')
  .min(0, 'a port is an integer 0..65535')
  .max(65535, 'a port is an integer 0..65535');

/** One `tproxy.rule` intent (without `kind`). Identity: (destination, source, protocol, ports.low, ports.high). */
export const tproxyRuleIntentSchema = z
  .strictObject({
    /** destination CIDR, host bits cleared ("10.0.0.0/24", "fd00::/64") */
    destination: cidrSchema('destination'),
    /** source CIDR of the same family; "0.0.0.0/0" / "::/0" = any */
    source: cidrSchema('source'),
    protocol: z.enum(['tcp', 'udp'], { error: 'protocol must be "tcp" or "udp"' }),
    ports: z
      .strictObject({ low: portSchema, high: portSchema })
      .refine((p) => p.low <= p.high, { message: 'ports.low must not be greater than ports.high', path: ['high'] }),
    action: z.enum(['divert', 'pass', 'deny'], { error: 'action must be "divert", "pass" or "deny"' }),
    /** the local tproxy listener's port: required iff action is "divert" */
    tproxyPort: z.number().int().min(1).max(65535).optional(),
    /** interface names; absent or [] = every attached interface */
    interfaces: z
      .array(interfaceNameSchema)
      .max(64)
      .refine((l) => new Set(l).size === l.length, 'each interface may be listed once')
      .optional(),
    /** ziti service id (informational) */
    service: z.string().max(256).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.action === 'divert' && v.tproxyPort === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tproxyPort'], message: 'a divert rule needs tproxyPort (1..65535), the port of the local tproxy listener' });
    }
    if (v.action !== 'divert' && v.tproxyPort !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['tproxyPort'], message: `tproxyPort is only allowed with action "divert", not "${v.action}"` });
    }
    const d = parseKeyPrefix(v.destination);
    const s = parseKeyPrefix(v.source);
    if (d.ok && s.ok && d.prefix.family !== s.prefix.family) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: `source ${v.source} is IPv${s.prefix.family} but destination ${v.destination} is IPv${d.prefix.family}; both must be the same family`,
      });
    }
  });

export type TproxyRuleIntent = z.output<typeof tproxyRuleIntentSchema> & { readonly kind?: typeof TPROXY_RULE_KIND };

/** One `tproxy.interface` intent (without `kind`): settings of an attached interface, overriding the config. */
export const tproxyInterfaceIntentSchema = z.strictObject({
  name: interfaceNameSchema,
  ssh: z.boolean().optional(),
  echo: z.boolean().optional(),
  ipv6: z.boolean().optional(),
  events: z.strictObject({ drops: z.boolean().optional(), diverts: z.boolean().optional() }).optional(),
});

export type TproxyInterfaceIntent = z.output<typeof tproxyInterfaceIntentSchema> & { readonly kind?: typeof TPROXY_INTERFACE_KIND };
