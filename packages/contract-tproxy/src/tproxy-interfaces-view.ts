/** What the plugin's `describe('tproxy.interface')` answers: every configured interface with its settings in force and counters. */
import { z } from 'zod';

const count = z.number().int().min(0);

export const tproxyInterfaceViewSchema = z.strictObject({
  name: z.string(),
  /** 0 when the interface is not found */
  ifindex: z.number().int().min(0),
  /** ingress attachment type, e.g. "tcx-ingress"; "none" before attach */
  attachment: z.string(),
  ssh: z.boolean(),
  echo: z.boolean(),
  ipv6: z.boolean(),
  events: z.strictObject({ drops: z.boolean(), diverts: z.boolean() }),
  /** packets, summed over CPUs */
  passed: count,
  diverted: count,
  dropped: count,
  /** events the ring buffer had no room for */
  eventsLost: count,
});

export const tproxyInterfacesViewSchema = z.strictObject({ interfaces: z.array(tproxyInterfaceViewSchema) });

export type TproxyInterfaceView = Readonly<z.output<typeof tproxyInterfaceViewSchema>>;
export interface TproxyInterfacesView {
  readonly interfaces: readonly TproxyInterfaceView[];
}
