/**
 * The `zds` section of the istiod source: the ZDS proxy's options, the HBONE listener acquisition
 * under `hbone`, and how long the first publication waits for the pods.
 */
import { z } from 'zod';
import { hboneListenersOptionsSchema } from './hbone-listeners-options.js';
import { zdsProxyOptionsSchema } from './zds-proxy-options.js';

export const podFeedOptionsSchema = zdsProxyOptionsSchema.safeExtend({
  /** how the proxy's HBONE listener of each pod is obtained (discovery and/or a registration socket) */
  hbone: hboneListenersOptionsSchema.prefault({}),
  /**
   * The first publication waits (at most this long) until the node agent's first snapshot went
   * through and the proxy acknowledged every pod in it, so that a restarted agent does not drop the
   * pods it pinned before it learned them again.
   */
  syncTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
});

export type PodFeedOptionsInput = z.input<typeof podFeedOptionsSchema>;
export type PodFeedOptions = z.output<typeof podFeedOptionsSchema>;
