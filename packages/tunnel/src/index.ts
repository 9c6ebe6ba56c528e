export { Tunnel, type TunnelLogger, type TunnelOptions } from './tunnel.js';
export { tunnelConfigSchema, type TunnelConfig, type TunnelConfigInput } from './tunnel-config.js';
export type { TunnelStats } from './tunnel-stats.js';
export { observeTunnel, type TunnelReadings } from './tunnel-metrics.js';
export { formatAuthority, parseAuthority, type Destination } from './connect-authority.js';
export { certificateIdentities, identityProblem } from './peer-identity.js';
export { tunnelIntents, tunnelSource, tunnelSourceConfigSchema, tunnelSourceModule, type TunnelSourceConfig } from './tunnel-source.js';
