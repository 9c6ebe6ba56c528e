/** The `tproxy.interface` intent: settings of an attached interface, overriding the plugin's config field by field. */
import { z } from 'zod';
import { interfaceNameSchema } from './interface-name.js';
import { TPROXY_INTERFACE_KIND } from './kinds.js';

/** One `tproxy.interface` intent without `kind`. */
export const tproxyInterfaceIntentSchema = z.strictObject({
  name: interfaceNameSchema,
  /** allow TCP 22 to the interface's own addresses */
  ssh: z.boolean().optional(),
  /** allow ICMP/ICMPv6 echo-request */
  echo: z.boolean().optional(),
  /** process IPv6 (else IPv6 is dropped) */
  ipv6: z.boolean().optional(),
  /** which events the ring buffer carries: drops, every new diverted flow */
  events: z.strictObject({ drops: z.boolean().optional(), diverts: z.boolean().optional() }).optional(),
});

/** The fields of a `tproxy.interface` intent. */
export type TproxyInterfaceFields = Readonly<z.output<typeof tproxyInterfaceIntentSchema>>;

/** A `tproxy.interface` intent as a source publishes it. */
export type TproxyInterfaceIntent = TproxyInterfaceFields & { readonly kind: typeof TPROXY_INTERFACE_KIND };
