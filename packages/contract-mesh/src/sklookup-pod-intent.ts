/**
 * The `sklookup.pod` intent: a meshed pod on this node,
 *
 *   { kind: 'sklookup.pod', uid, netns, addresses, socketFds? }
 *
 * - `netns`: its network namespace, a path the source keeps valid (e.g. /proc/<pid>/fd/<n> of an fd
 *   it holds, or /var/run/netns/NAME);
 * - `addresses`: its addresses;
 * - `socketFds`: the proxy's HBONE listening sockets for it, fds open in the agent's process and held
 *   by the source (the kernel map keeps a reference to the socket itself, not to the fd), at most one
 *   per address family. Each address is steered to a listener of its family: an IPv4 address to the
 *   IPv4 listener, else to a dual-stack IPv6 one; an IPv6 address to the IPv6 listener. An address
 *   without a listener of its family has no socket entry (its connections take the normal lookup).
 *   Absent: the socket entries the pod's addresses already have are kept (e.g. after an agent
 *   restart, until the listeners are found again); none is created. `[]`: the pod has no listener
 *   (e.g. its proxy exited): its socket entries go.
 * - `socketFd: n` (the first form of this contract) is still accepted and means `socketFds: [n]`.
 */
import { z } from 'zod';
import { addressSchema } from './address-schema.js';

export const SKLOOKUP_POD_KIND = 'sklookup.pod';

/** At most one listener per address family. */
export const MAX_POD_SOCKETS = 2;

/** What is wrong with `uid` as a pod uid (a non-empty string without control characters); undefined when nothing. */
export function podUidProblem(uid: unknown): string | undefined {
  if (typeof uid !== 'string' || uid.length === 0) return 'pod uid must be a non-empty string';
  if (/[\u0000-\u001f]/.test(uid)) return `pod uid ${JSON.stringify(uid)} contains control characters`;
  return undefined;
}

const fdSchema = z.number().int().min(0).max(0x7fffffff);

/** One `sklookup.pod` intent without `kind`. */
export const sklookupPodIntentSchema = z
  .strictObject({
    uid: z.string().superRefine((value, ctx) => {
      const problem = podUidProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    netns: z.string().min(1, 'netns: give the path of the pod network namespace (e.g. /proc/<pid>/fd/<n>) or its name'),
    addresses: z.array(addressSchema).min(1, 'addresses: a pod needs at least one address'),
    socketFds: z
      .array(fdSchema)
      .max(MAX_POD_SOCKETS, `socketFds: at most ${MAX_POD_SOCKETS} listeners (one per address family)`)
      .refine((l) => new Set(l).size === l.length, 'socketFds: each fd may be listed once')
      .optional(),
    /** the first form of the contract: the same as socketFds: [socketFd] */
    socketFd: fdSchema.optional(),
  })
  .refine((p) => p.socketFd === undefined || p.socketFds === undefined, {
    message: 'give socketFds or (the older form) socketFd, not both',
    path: ['socketFd'],
  });

/** A `sklookup.pod` intent as a source publishes it. */
export type SklookupPodIntent = Readonly<z.output<typeof sklookupPodIntentSchema>> & { readonly kind: typeof SKLOOKUP_POD_KIND };
