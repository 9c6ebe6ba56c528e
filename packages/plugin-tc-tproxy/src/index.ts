export { tcTproxyPlugin } from './tc-tproxy-plugin.js';
export { tcTproxyImplementation, tcTproxySteps } from './tc-tproxy-steps.js';
export { tcTproxyDeclaration, tcTproxyEntry } from './tc-tproxy-entry.js';
export { tcTproxyModule } from './tc-tproxy-module.js';
export {
  tcTproxyConfigSchema,
  tproxyInterfaceConfigSchema,
  MAX_MAX_RULES,
  type TcTproxyConfig,
  type TcTproxyConfigInput,
  type TproxyInterfaceConfig,
} from './tproxy-config.js';
// the contract (kinds, schemas, event, describe views) is @bpfsteer/contract-tproxy's; re-exported for users of this package
export {
  TPROXY_RULE_KIND,
  TPROXY_INTERFACE_KIND,
  TPROXY_EVENT_TOPIC,
  tproxyRuleIntentSchema,
  tproxyInterfaceIntentSchema,
  type TproxyRuleIntent,
  type TproxyInterfaceIntent,
  type TproxyEvent,
  type TproxyRuleView as RuleDescription,
  type TproxyInterfaceView as InterfaceDescription,
} from '@bpfsteer/contract-tproxy';
export { TproxyDataplane, type TproxyDataplaneOptions, type TproxyRuntimeOptions, type TproxyApplyResult, type TproxyStatus } from './tproxy-dataplane.js';
export { openTproxyDataplane, startTproxyDataplane } from './open-tproxy-dataplane.js';
export type { InterfaceSettings } from './interface-settings.js';
export { DEFAULT_MAX_RULES } from './tproxy-constants.js';
export { defaultObjectPath } from './bpf-object-path.js';
