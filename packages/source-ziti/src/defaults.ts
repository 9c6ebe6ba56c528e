/** Default paths shared by the source and the diverter CLI (no dependencies: the CLI loads it). */
export const DEFAULT_SOCKET = '/run/bpfsteer/ziti.sock';
export const DEFAULT_STATE_FILE = '/var/lib/bpfsteer/ziti-rules.json';
export const DEFAULT_SPOOL = '/var/lib/bpfsteer/ziti-spool';
