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
   * Nothing is published before the node agent's first snapshot went through and the proxy
   * acknowledged every pod in it (however long that takes: members without the pods would detach
   * the pods a restarted agent still has pinned); after this long without it a warning is logged.
   */
  syncWarnMs: z.number().int().min(0).max(600_000).default(10_000),
  /** gone: the first publication no longer gives up waiting for the pods */
  syncTimeoutMs: z
    .never({
      error:
        'syncTimeoutMs is no longer accepted: nothing is published before the pods synced, however long that takes (members without the pods would detach the pinned ones); use syncWarnMs for when to warn',
    })
    .optional(),
});

export type PodFeedOptionsInput = z.input<typeof podFeedOptionsSchema>;
export type PodFeedOptions = z.output<typeof podFeedOptionsSchema>;
