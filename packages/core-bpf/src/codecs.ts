/**
 * All codecs in one namespace object:
 *   const Route = codecs.struct({ action: codecs.u32, gateway: codecs.ipv4, port: codecs.be16,
 *                                 flags: codecs.u8, pad: codecs.pad(1), cookie: codecs.u64 });
 */
import { array, bytes, cstring } from './codec/array-codecs.js';
import { be16, be32, be64, i16, i32, i64, i8, u16, u32, u64, u8 } from './codec/int-codecs.js';
import { ipv4, ipv4Cidr, ipv6, ipv6Cidr, mac } from './codec/net-codecs.js';
import { pad, skip, struct } from './codec/struct-codec.js';

export const codecs = {
  u8, u16, u32, u64, i8, i16, i32, i64, be16, be32, be64,
  ipv4, ipv6, mac, ipv4Cidr, ipv6Cidr,
  struct, pad, skip, array, bytes, cstring,
} as const;
