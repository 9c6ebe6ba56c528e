/**
 * An address and a port as one text: "192.0.2.1:80", "[2001:db8::1]:443" (an IPv6 address in
 * brackets, as URLs and HTTP's :authority write it). Only addresses, never names.
 */
import { IpError, type IpResult } from './ip-error.js';
import { type IpAddress, type IpFamily, label, quote, tryParseIp } from './ip-address.js';

export interface IpEndpoint {
  readonly address: IpAddress;
  /** 1..65535 */
  readonly port: number;
  /** canonical "address:port" / "[address]:port" */
  readonly text: string;
}

export interface ParseEndpointOptions {
  /** what the text is, for messages */
  readonly what?: string;
  /** only this family is accepted */
  readonly family?: IpFamily;
  /** port 0 is accepted (a listener's "any port") */
  readonly anyPort?: boolean;
}

export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Parses "a.b.c.d:port" or "[v6]:port". Never throws. */
export function tryParseEndpoint(text: unknown, options: ParseEndpointOptions = {}): IpResult<IpEndpoint> {
  const m = typeof text === 'string' ? /^(?:\[([^\]]+)\]|([^:[\]]+)):(0|[1-9][0-9]{0,4})$/.exec(text) : null;
  const address = m ? tryParseIp(m[1] ?? m[2]) : undefined;
  const port = m ? Number(m[3]) : 0;
  const v6InBrackets = m ? (m[1] !== undefined) === (address?.ok === true && address.value.family === 6) : false;
  if (!m || !address?.ok || !v6InBrackets || port > 65535 || (port === 0 && !options.anyPort) || (options.family !== undefined && address.value.family !== options.family)) {
    const example = options.family === 6 ? '"[::1]:18000"' : options.family === 4 ? '"127.0.0.1:18000"' : '"192.0.2.1:80" or "[2001:db8::1]:80"';
    const family = options.family ? `an IPv${options.family} ` : 'an ';
    return { ok: false, error: new IpError('ERR_IP_INVALID_ADDRESS', `${label(options.what)}${quote(text)} is not ${family}address and port; expected ${example}`) };
  }
  return { ok: true, value: { address: address.value, port, text: formatEndpoint(address.value.text, port) } };
}
