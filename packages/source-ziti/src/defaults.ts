/** Default paths shared by the source and the diverter CLI (no dependencies: the CLI loads it). */
export const DEFAULT_SOCKET = '/run/bpfsteer/ziti.sock';
export const DEFAULT_STATE_FILE = '/var/lib/bpfsteer/ziti-rules.json';
export const DEFAULT_SPOOL = '/var/lib/bpfsteer/ziti-spool';
/** After a router's restart, how long it has to insert its services again before the others' rules go (ms). */
export const DEFAULT_ROUTER_RESTART_GRACE_MS = 600_000;
