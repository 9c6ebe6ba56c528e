export {
  NexthopDataplane,
  DEFAULT_MAX_RULES,
  MAX_MAX_RULES,
  type NexthopDataplaneOptions,
  type NexthopDataplaneStatus,
  type RedirectRuleStatus,
  type FilterStatus,
  type NeighbourStatus,
  type ApplyCounts,
} from './nexthop-dataplane.js';
export { parseRule, parseRuleSet, type NexthopRule, type NexthopRuleSpec } from './nexthop-rule.js';
export { defaultObjectPath } from './bpf-object-path.js';
export {
  tcNexthopPlugin,
  tcNexthopConfigSchema,
  nexthopRedirectIntentSchema,
  NEXTHOP_REDIRECT_KIND,
  type TcNexthopConfig,
} from './tc-nexthop-plugin.js';
