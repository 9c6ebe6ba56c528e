export { zitiSource, zitiSourceModule } from './ziti-source.js';
export {
  DEFAULT_SOCKET,
  DEFAULT_STATE_FILE,
  type ZitiSourceConfig,
  type ZitiSourceConfigInput,
  zitiSourceConfigSchema,
} from './ziti-source-config.js';
export { ApiError, type ApiErrorCode, apiErrorStatus, ZitiSourceError, type ZitiErrorCode } from './errors.js';
// the API's functions load fastify at their first call (api/lazy-api.ts)
export { buildOpenApiDocument, createApi, openApiText } from './api/lazy-api.js';
export type { CreateApiOptions } from './api/create-api.js';
export { type ApiListener, type DiverterCallOutcome, type SpoolCallOutcome, UNMATCHED_ROUTE, type ZitiMetrics, zitiMetrics } from './ziti-metrics.js';
export { BODY_LIMIT } from './api/http-limits.js';
export { ZitiService, type ZitiServiceOptions, type RuleList, type ListedRule, type RuleFilter } from './ziti-service.js';
export type { InterfaceSettings, Protocol, Rule, RuleAction, RuleIdentity, RuleSelector } from './rule.js';
export { ruleToIntent, interfaceToIntent, stateToIntents } from './to-intents.js';
// the kinds and the event topic are @bpfsteer/contract-tproxy's
export {
  TPROXY_RULE_KIND as RULE_KIND,
  TPROXY_INTERFACE_KIND as INTERFACE_KIND,
  TPROXY_EVENT_TOPIC as EVENT_TOPIC,
} from '@bpfsteer/contract-tproxy';
export { type ZitiState, emptyState } from './rule-store.js';
