/** The `tproxy.event` topic: one datapath event (a drop, or a new diverted flow) per record of the plugin's ring buffer. */
import { z } from 'zod';
import { TPROXY_EVENT_REASONS } from './kinds.js';

export const tproxyEventSchema = z.strictObject({
  /** ISO time of the packet */
  time: z.iso.datetime(),
  interface: z.string(),
  kind: z.enum(['drop', 'divert']),
  reason: z.enum(TPROXY_EVENT_REASONS),
  /** 4 also for a frame that is not IP */
  family: z.union([z.literal(4), z.literal(6)]),
  /** a name, or the IP protocol number of another protocol */
  protocol: z.union([z.enum(['tcp', 'udp', 'icmp']), z.number().int().min(0).max(255)]),
  /** "ip:port" or "[v6]:port"; "" for a frame that is not IP */
  source: z.string(),
  destination: z.string(),
  /** the rule that decided, if any */
  ruleId: z.number().int().min(1).optional(),
  /** the tproxy port of a divert */
  tproxyPort: z.number().int().min(1).max(65535).optional(),
});

export type TproxyEvent = Readonly<z.output<typeof tproxyEventSchema>>;
