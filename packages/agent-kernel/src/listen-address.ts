/** A TCP address to listen on, as the config writes it: `host:port`, an IPv6 host in brackets. */

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/;

/** `"0.0.0.0:9464"`, `"[::]:9464"`, `"localhost:9464"` as host and port; undefined when it is none of these. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = HOST_PORT.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}
