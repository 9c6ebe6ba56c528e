export { interfaceNameProblem, interfaceNameSchema } from './interface-name.js';
export {
  TPROXY_RULE_KIND,
  tproxyRuleIntentSchema,
  tproxyRuleIntentShapeSchema,
  type TproxyRuleFields,
  type TproxyRuleIntent,
} from './tproxy-rule-intent.js';
export {
  TPROXY_INTERFACE_KIND,
  tproxyInterfaceIntentSchema,
  type TproxyInterfaceFields,
  type TproxyInterfaceIntent,
} from './tproxy-interface-intent.js';
export { TPROXY_EVENT_TOPIC, TPROXY_EVENT_REASONS, tproxyEventSchema, type TproxyEvent, type TproxyEventReason } from './tproxy-event.js';
export { tproxyRuleViewSchema, tproxyRulesViewSchema, type TproxyRuleView, type TproxyRulesView } from './tproxy-rules-view.js';
export {
  tproxyInterfaceViewSchema,
  tproxyInterfacesViewSchema,
  type TproxyInterfaceView,
  type TproxyInterfacesView,
} from './tproxy-interfaces-view.js';
