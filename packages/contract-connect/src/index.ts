export { CONNECT_REDIRECT_KIND, MAX_RULE_PORT_RANGES, readConnectDestination, readPortRange, type PortRange } from './kinds.js';
export { connectRedirectIntentSchema, type ConnectRedirectFields, type ConnectRedirectIntent } from './connect-redirect-intent.js';
