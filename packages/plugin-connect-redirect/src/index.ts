export {
  ConnectRedirectDataplane,
  type AttachmentStatus,
  type Bypass,
  type ConnectRedirectDataplaneOptions,
  type ConnectRedirectStats,
  type OriginalDestination,
  type RedirectTarget,
} from './connect-redirect-dataplane.js';
export { compileRules, readRules, type ConnectRuleSpec, type RuleRange, type TrieEntry } from './compile-rules.js';
export { readEndpoint, type Endpoint } from './endpoint.js';
export { defaultObjectPath } from './bpf-object-path.js';
export { connectRedirectPlugin } from './connect-redirect-plugin.js';
export { connectRedirectDeclaration, connectRedirectEntry } from './connect-redirect-entry.js';
export { connectRedirectModule } from './connect-redirect-module.js';
export { connectRedirectImplementation, connectRedirectSteps } from './connect-redirect-steps.js';
export { connectRedirectConfigSchema, type ConnectRedirectConfig } from './connect-redirect-config.js';
