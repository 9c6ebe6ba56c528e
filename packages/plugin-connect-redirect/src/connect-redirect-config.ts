/** The connect-redirect plugin's config (its entry in the agent's config file). */
import { z } from 'zod';
import { readEndpoint } from './endpoint.js';

const cgroupPath = z.string().min(1, 'give a cgroup path relative to the cgroup2 root (or absolute inside it)');
const endpoint = (family: 4 | 6) =>
  z.string().superRefine((value, ctx) => {
    const r = readEndpoint(value, family);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
  });
const u32 = z.number().int().min(0).max(0xffffffff);

export const connectRedirectConfigSchema = z.strictObject({
  /** the cgroups whose TCP connects are redirected (connect4, connect6 and sockops attach there) */
  cgroups: z.array(cgroupPath).min(1, 'name at least one cgroup whose connects are redirected'),
  /**
   * the cgroups of the proxies that take the redirected connections and ask getsockopt(SO_ORIGINAL_DST)
   * (the tunnel's, an unmodified proxy's); empty: the original destination is only read from the map
   */
  proxyCgroups: z.array(cgroupPath).default([]),
  /** the listener redirected connects go to, per family ("127.0.0.1:18000", "[::1]:18000"); false: that family is not redirected */
  target: z
    .strictObject({
      ipv4: z.union([endpoint(4), z.literal(false)]).default('127.0.0.1:18000'),
      ipv6: z.union([endpoint(6), z.literal(false)]).default('[::1]:18000'),
    })
    .default({ ipv4: '127.0.0.1:18000', ipv6: '[::1]:18000' }),
  /** connects never redirected: the tunnel's own (its socket mark, or its cgroup) */
  bypass: z
    .strictObject({
      /** SO_MARK of the tunnel's sockets: { value, mask } (mask default 0xffffffff) */
      mark: z.strictObject({ value: u32, mask: u32.default(0xffffffff) }).optional(),
      /** the tunnel's cgroup (a connect from a process in it is never redirected) */
      cgroup: cgroupPath.optional(),
    })
    .default({}),
});

export type ConnectRedirectConfig = z.output<typeof connectRedirectConfigSchema>;
