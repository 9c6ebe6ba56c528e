export { IpError, type IpErrorCode, type IpResult } from './ip-error.js';
export {
  formatIp,
  familyOfBytes,
  ipFromBytes,
  maxPrefixLength,
  parseIp,
  parseIpBytes,
  parseIpv4Into,
  tryParseIp,
  type IpAddress,
  type IpFamily,
  type ParseIpOptions,
} from './ip-address.js';
export {
  anyPrefix,
  comparePrefixes,
  networkOf,
  parseIpv4PrefixInto,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
  tryParsePrefix,
  type IpPrefix,
  type ParsePrefixOptions,
  type PrefixLike,
} from './ip-prefix.js';
export { canonicalPrefix, type PrefixText } from './canonical-prefix.js';
export { formatEndpoint, tryParseEndpoint, type IpEndpoint, type ParseEndpointOptions } from './ip-endpoint.js';
export { bitsEqual, hasHostBits, maskBytes } from './mask-bytes.js';
export { toMappedIpv6, unmapIpv4 } from './mapped-ipv4.js';
export { formatIpv4 } from './ipv4.js';
export { formatIpv6 } from './ipv6.js';
