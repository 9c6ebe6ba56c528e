/** The options of a ZdsProxy, validated with zod. */
import { z } from 'zod';

const socketPath = z
  .string()
  .min(1)
  .refine((p) => Buffer.byteLength(p) < 108 && !p.includes('\0'), 'a unix socket path is at most 107 bytes, without NUL');

export const zdsProxyOptionsSchema = z
  .strictObject({
    /** where the proxy (ztunnel) connects: point its ZDS socket path here */
    listenPath: socketPath,
    /** the istio-cni node agent's ZDS socket */
    upstreamPath: socketPath.default('/var/run/ztunnel/ztunnel.sock'),
    /** permission bits of the listening socket file; default 0600, or 0660 with socketGroup */
    socketMode: z.number().int().min(0).max(0o777).optional(),
    /** numeric group id that may connect (with socketMode allowing the group) */
    socketGroup: z.number().int().min(0).optional(),
    /** retrying the node agent while the proxy waits */
    backoff: z
      .strictObject({
        initialMs: z.number().int().positive().default(200),
        maxMs: z.number().int().positive().default(10_000),
      })
      .prefault({}),
    /** largest ZDS message accepted, bytes */
    maxMessageBytes: z.number().int().min(64).max(16 * 1024 * 1024).default(64 * 1024),
  })
  .superRefine((o, ctx) => {
    if (o.listenPath === o.upstreamPath) {
      ctx.addIssue({ code: 'custom', path: ['listenPath'], message: 'must differ from upstreamPath (the node agent serves that one)' });
    }
    if (o.backoff.maxMs < o.backoff.initialMs) {
      ctx.addIssue({ code: 'custom', path: ['backoff', 'maxMs'], message: `must be at least backoff.initialMs (${o.backoff.initialMs})` });
    }
  });

export type ZdsProxyOptionsInput = z.input<typeof zdsProxyOptionsSchema>;
export type ZdsProxyOptions = z.output<typeof zdsProxyOptionsSchema>;
