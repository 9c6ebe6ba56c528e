/** The options of a DeltaAdsClient, validated with zod (the istiod source's config reuses them). */
import { z } from 'zod';
import { ISTIOD_MIN_KEEPALIVE_MS, nonStringMetadata, parseNodeId } from './istiod-identity.js';

/** The proxy's identity sent to Istiod (its node id checked by checkDeltaAdsOptions). */
export const nodeFields = z.strictObject({
  id: z.string().min(1),
  cluster: z.string().optional(),
  /** string values only: others are refused by checkDeltaAdsOptions, with why */
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/** The fields, without the cross-field checks (so a source config can extend them). */
export const deltaAdsClientFields = z.strictObject({
  /** host:port of Istiod's xDS endpoint, e.g. "istiod.istio-system.svc:15012" (TLS) or ":15010" (plaintext) */
  address: z.string().min(1),
  /** TLS; absent means plaintext (development only) */
  tls: z
    .strictObject({
      /** PEM bundle of the CAs that may sign Istiod's certificate; re-read on every reconnect */
      caFile: z.string().min(1),
      /** name to verify in Istiod's certificate when `address` does not carry it (e.g. an IP) */
      serverName: z.string().min(1).optional(),
    })
    .optional(),
  /** file holding a service-account token (audience istio-ca), sent as "authorization: Bearer ..."; re-read on every reconnect */
  tokenFile: z.string().min(1).optional(),
  node: nodeFields,
  backoff: z
    .strictObject({
      initialMs: z.number().int().positive().default(500),
      maxMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  /** HTTP/2 keepalive ping interval; unset: no pings. Istiod closes connections that ping more often than every 15 s */
  keepaliveMs: z
    .number()
    .int()
    .min(ISTIOD_MIN_KEEPALIVE_MS, { error: `must be at least ${ISTIOD_MIN_KEEPALIVE_MS} (Istiod closes connections whose keepalive pings come more often)` })
    .optional(),
  /** largest response accepted (a full snapshot of a big mesh is one message) */
  maxReceiveMessageBytes: z.number().int().positive().default(256 * 1024 * 1024),
});

/** What the checks read: the fields, the node id optional (a source may take it from the environment). */
type Fields = Omit<z.output<typeof deltaAdsClientFields>, 'node'> & { readonly node: Omit<z.output<typeof nodeFields>, 'id'> & { readonly id?: string } };

/** The checks that span fields; `.superRefine(checkDeltaAdsOptions)` on any schema extending the fields. */
export function checkDeltaAdsOptions(options: Fields, ctx: z.RefinementCtx): void {
  const node = options.node.id === undefined ? undefined : parseNodeId(options.node.id, options.node.metadata);
  if (node && !node.ok) {
    for (const problem of node.problems) ctx.addIssue({ code: 'custom', path: ['node', 'id'], message: `Istiod would refuse this node id: ${problem}` });
  }
  for (const key of nonStringMetadata(options.node.metadata ?? {})) {
    ctx.addIssue({
      code: 'custom',
      path: ['node', 'metadata', key],
      message: 'must be a string: Istiod decodes node metadata into fields of text and refuses the stream otherwise (quote the value)',
    });
  }
  if (options.tokenFile && !options.tls) {
    ctx.addIssue({
      code: 'custom',
      path: ['tokenFile'],
      message: 'a service-account token is only sent over TLS: set tls.caFile as well, or drop tokenFile',
    });
  }
  if (options.backoff.maxMs < options.backoff.initialMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['backoff', 'maxMs'],
      message: `must be at least backoff.initialMs (${options.backoff.initialMs})`,
    });
  }
}

export const deltaAdsClientOptionsSchema = deltaAdsClientFields.superRefine(checkDeltaAdsOptions);

/** Options as written (defaults may be omitted). */
export type DeltaAdsClientOptionsInput = z.input<typeof deltaAdsClientOptionsSchema>;
/** Options after validation, defaults filled in. */
export type DeltaAdsClientOptions = z.output<typeof deltaAdsClientOptionsSchema>;
