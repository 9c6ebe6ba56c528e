/** The options of HboneListeners, validated with zod. */
import { z } from 'zod';

export const hboneListenersOptionsSchema = z
  .strictObject({
    /** the proxy's HBONE port inside each pod */
    hbonePort: z.number().int().min(1).max(65535).default(15008),
    /** find the listener with sock_diag + pidfd_getfd when the proxy does not register it */
    discovery: z.boolean().default(true),
    /** a registration socket for a cooperating proxy (SCM_RIGHTS); none when absent */
    registration: z
      .strictObject({
        path: z
          .string()
          .min(1)
          .refine((p) => Buffer.byteLength(p) < 108, 'a unix socket path is at most 107 bytes'),
        mode: z.number().int().min(0).max(0o777).optional(),
        group: z.number().int().min(0).optional(),
      })
      .optional(),
    /** discovery retries after the proxy confirmed a pod, until a listener is found */
    retry: z
      .strictObject({
        initialMs: z.number().int().positive().default(100),
        maxMs: z.number().int().positive().default(5_000),
        attempts: z.number().int().min(1).default(30),
      })
      .prefault({}),
    /**
     * how often to look for the listener of a pod the proxy refused (it is kept pending: ztunnel
     * retries such a pod every 5 s and says nothing over ZDS when it succeeds), until found
     */
    pendingRetryMs: z.number().int().min(10).default(5_000),
  })
  .superRefine((o, ctx) => {
    if (o.retry.maxMs < o.retry.initialMs) {
      ctx.addIssue({ code: 'custom', path: ['retry', 'maxMs'], message: `must be at least retry.initialMs (${o.retry.initialMs})` });
    }
  });

export type HboneListenersOptionsInput = z.input<typeof hboneListenersOptionsSchema>;
export type HboneListenersOptions = z.output<typeof hboneListenersOptionsSchema>;
