/**
 * The one error of @bpfsteer/ip. `code` is stable (callers may switch on it, or wrap the error in
 * their own hierarchy); the message names the text and what is wrong with it.
 */
export type IpErrorCode =
  /** not an IPv4 or IPv6 address */
  | 'ERR_IP_INVALID_ADDRESS'
  /** not an address/length prefix (a bad address, a bad length) */
  | 'ERR_IP_INVALID_PREFIX'
  /** a well-formed prefix whose address has bits set after the prefix length */
  | 'ERR_IP_HOST_BITS'
  /** network-order bytes that are not 4 or 16 long, or a prefix length out of range */
  | 'ERR_IP_INVALID_ARGUMENT';

export class IpError extends Error {
  readonly code: IpErrorCode;
  constructor(code: IpErrorCode, message: string) {
    super(message);
    this.name = 'IpError';
    this.code = code;
  }
}

/** The outcome of a try* parser: the value, or the error a throwing parser would throw. Never throws. */
export type IpResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: IpError };
