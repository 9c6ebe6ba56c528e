/** The tc-nexthop plugin's config (its entry in the agent's config file). */
import { interfaceNameProblem } from '@bpfsteer/contract-nexthop/kinds';
import { z } from 'zod';
import { DEFAULT_MAX_RULES, MAX_MAX_RULES } from './nexthop-limits.js';

// the contract's interface-name rule, with the message the dataplane's checkInterfaceName throws
const ifnameSchema = z.string().superRefine((value, ctx) => {
  const problem = interfaceNameProblem(value, 'interface name');
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

export const tcNexthopConfigSchema = z.strictObject({
  /** interfaces whose egress gets the filter (usually the default-gateway side) */
  interfaces: z
    .array(ifnameSchema)
    .min(1, 'list at least one interface to attach the filter to')
    .refine((l) => new Set(l).size === l.length, 'each interface may be listed once'),
  /** network namespace (name or path) the interfaces live in */
  netns: z.string().min(1).optional(),
  /** rule capacity (default 16384) */
  maxRules: z.number().int().min(1).max(MAX_MAX_RULES).default(DEFAULT_MAX_RULES),
});

export type TcNexthopConfig = z.output<typeof tcNexthopConfigSchema>;
