/**
 * The `connect.redirect` intent: TCP connects from the plugin's cgroups to `destination` (and one
 * of `ports`, all ports without them) go to the local tunnel listener; with `direct: true` they
 * are excluded instead (they go where they were going).
 *
 *   { kind: 'connect.redirect', destination: '10.0.2.0/24', ports: ['80', '8000-8100'] }
 *   { kind: 'connect.redirect', destination: '10.0.2.9', direct: true }
 *
 * Which rule decides: of the rules whose destination holds the address and whose ports hold the
 * port, the one with the longest destination prefix; between rules of the same prefix, a direct one
 * before a redirecting one. No rule: direct.
 */
import { z } from 'zod';
import { CONNECT_REDIRECT_KIND, MAX_RULE_PORT_RANGES } from './kinds.js';
import { readConnectDestination, readPortRange } from './connect-fields.js';

/** One `connect.redirect` intent without `kind`. */
export const connectRedirectIntentSchema = z.strictObject({
  /** destination prefix, e.g. 10.0.2.0/24 or fd00::/64 (a bare address is a host prefix) */
  destination: z.string().superRefine((value, ctx) => {
    const r = readConnectDestination(value);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message });
  }),
  /** ports or ranges ("80", "8000-8100"); absent: every port */
  ports: z
    .array(
      z.union([z.string(), z.number()]).superRefine((value, ctx) => {
        const r = readPortRange(value);
        if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
      }),
    )
    .min(1, 'ports: leave it out for every port, or list at least one')
    .max(MAX_RULE_PORT_RANGES, `ports: at most ${MAX_RULE_PORT_RANGES} ports or ranges per rule`)
    .optional(),
  /** true: an exclusion (these connects are never redirected) */
  direct: z.boolean().optional(),
});

/** The fields of a `connect.redirect` intent. */
export type ConnectRedirectFields = Readonly<z.output<typeof connectRedirectIntentSchema>>;

/** A `connect.redirect` intent as a source publishes it. */
export type ConnectRedirectIntent = ConnectRedirectFields & { readonly kind: typeof CONNECT_REDIRECT_KIND };
