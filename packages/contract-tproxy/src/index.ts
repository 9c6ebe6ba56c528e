export {
  TPROXY_RULE_KIND,
  TPROXY_INTERFACE_KIND,
  TPROXY_EVENT_TOPIC,
  TPROXY_EVENT_REASONS,
  type TproxyEventReason,
  interfaceNameProblem,
} from './kinds.js';
export { interfaceNameSchema } from './interface-name.js';
export {
  tproxyRuleIntentSchema,
  tproxyRuleIntentShapeSchema,
  type TproxyRuleFields,
  type TproxyRuleIntent,
} from './tproxy-rule-intent.js';
export {
  tproxyInterfaceIntentSchema,
  type TproxyInterfaceFields,
  type TproxyInterfaceIntent,
} from './tproxy-interface-intent.js';
export { tproxyEventSchema, type TproxyEvent } from './tproxy-event.js';
export { tproxyRuleViewSchema, tproxyRulesViewSchema, type TproxyRuleView, type TproxyRulesView } from './tproxy-rules-view.js';
export {
  tproxyInterfaceViewSchema,
  tproxyInterfacesViewSchema,
  type TproxyInterfaceView,
  type TproxyInterfacesView,
} from './tproxy-interfaces-view.js';
