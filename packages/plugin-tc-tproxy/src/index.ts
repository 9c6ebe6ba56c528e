export { tcTproxyPlugin } from './tc-tproxy-plugin.js';
export {
  tcTproxyConfigSchema,
  tproxyInterfaceConfigSchema,
  MAX_MAX_RULES,
  type TcTproxyConfig,
  type TcTproxyConfigInput,
  type TproxyInterfaceConfig,
} from './tproxy-config.js';
export {
  TPROXY_RULE_KIND,
  TPROXY_INTERFACE_KIND,
  TPROXY_EVENT_TOPIC,
  tproxyRuleIntentSchema,
  tproxyInterfaceIntentSchema,
  type TproxyRuleIntent,
  type TproxyInterfaceIntent,
} from './tproxy-intents.js';
export {
  TproxyDataplane,
  type TproxyDataplaneOptions,
  type TproxyApplyResult,
  type TproxyStatus,
  type RuleDescription,
  type InterfaceDescription,
} from './tproxy-dataplane.js';
export type { TproxyEvent } from './tproxy-event.js';
export type { InterfaceSettings } from './interface-settings.js';
export { DEFAULT_MAX_RULES } from './tproxy-constants.js';
export { defaultObjectPath } from './bpf-object-path.js';
