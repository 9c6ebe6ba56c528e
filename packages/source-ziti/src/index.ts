export { zitiSource } from './ziti-source.js';
export {
  DEFAULT_SOCKET,
  DEFAULT_STATE_FILE,
  type ZitiSourceConfig,
  type ZitiSourceConfigInput,
  zitiSourceConfigSchema,
} from './ziti-source-config.js';
export { ApiError, type ApiErrorCode, apiErrorStatus, ZitiSourceError, type ZitiErrorCode } from './errors.js';
export { buildOpenApiDocument, openApiText } from './api/openapi-document.js';
export { type CreateApiOptions, createApi, BODY_LIMIT } from './api/create-api.js';
export { ZitiService, type ZitiServiceOptions, type RuleList, type ListedRule, type RuleFilter } from './ziti-service.js';
export type { InterfaceSettings, Protocol, Rule, RuleAction, RuleIdentity, RuleSelector } from './rule.js';
export { ruleToIntent, interfaceToIntent, stateToIntents, RULE_KIND, INTERFACE_KIND, EVENT_TOPIC } from './to-intents.js';
export { type ZitiState, emptyState } from './rule-store.js';
