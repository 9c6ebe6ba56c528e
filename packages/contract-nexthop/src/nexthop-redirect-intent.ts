/** The `nexthop.redirect` intent: packets whose source is in `source` leave through `interface` towards `nexthop`. */
import { z } from 'zod';
import { NEXTHOP_REDIRECT_KIND } from './kinds.js';
import { interfaceNameProblem, readRedirectNexthop, readRedirectSource } from './redirect-fields.js';

/** A string field checked by `problem` (its message, unchanged, is the issue's). */
function checkedString(problem: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  });
}

/** Zod field of a Linux interface name (see interfaceNameProblem). */
export const interfaceNameSchema = checkedString((v) => interfaceNameProblem(v));

/** One `nexthop.redirect` intent without `kind`. */
export const nexthopRedirectIntentSchema = z
  .strictObject({
    /** source prefix, e.g. 192.168.1.5/32 (a bare address is a host prefix) */
    source: checkedString((v) => {
      const r = readRedirectSource(v);
      return r.ok ? undefined : r.error.message;
    }),
    /** next-hop address of the same family, e.g. 10.111.221.21 */
    nexthop: checkedString((v) => {
      const r = readRedirectNexthop(v);
      return r.ok ? undefined : r.error.message;
    }),
    /** egress interface */
    interface: interfaceNameSchema,
  })
  .superRefine((v, ctx) => {
    const s = readRedirectSource(v.source);
    const n = readRedirectNexthop(v.nexthop);
    // a field that does not parse is reported by its own check
    if (s.ok && n.ok && s.value.family !== n.value.family) {
      ctx.addIssue({
        code: 'custom',
        path: ['nexthop'],
        message: `nexthop ${n.value.text} is IPv${n.value.family} but source ${s.value.text} is IPv${s.value.family}; both must be the same family`,
      });
    }
  });

/** The fields of a `nexthop.redirect` intent. */
export type NexthopRedirectFields = Readonly<z.output<typeof nexthopRedirectIntentSchema>>;

/** A `nexthop.redirect` intent as a source publishes it. */
export type NexthopRedirectIntent = NexthopRedirectFields & { readonly kind: typeof NEXTHOP_REDIRECT_KIND };
