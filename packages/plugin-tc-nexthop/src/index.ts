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
export { tcNexthopPlugin } from './tc-nexthop-plugin.js';
export { tcNexthopImplementation, tcNexthopSteps } from './tc-nexthop-steps.js';
export {
  tcNexthopConfigSchema,
  tcNexthopDeclaration,
  tcNexthopEntry,
  type TcNexthopConfig,
} from './tc-nexthop-entry.js';
// the kind and its schema are @bpfsteer/contract-nexthop's; re-exported for users of this package
export { nexthopRedirectIntentSchema, NEXTHOP_REDIRECT_KIND, type NexthopRedirectIntent } from '@bpfsteer/contract-nexthop';
export { tcNexthopModule } from './tc-nexthop-module.js';
