/**
 * The `sklookup.pod` intent: a meshed pod on this node,
 *
 *   { kind: 'sklookup.pod', uid, netnsHandle | netns, addresses, socketHandles? }
 *
 * - `netnsHandle`: its network namespace, as a handle of the agent's socket-handle registry
 *   (`h:<n>`, core-bpf's SocketHandles, `SourceContext.socketHandles`): the source registers the
 *   namespace fd it holds (e.g. one received from istio-cni) and names the handle; the registry
 *   keeps its own duplicate open while an intent in force or being committed names it.
 * - `netns` (instead of `netnsHandle`): a path or name the plugin opens itself, e.g.
 *   /var/run/netns/NAME or NAME. Not an fd of the agent (`/proc/self/fd/N`): that is a handle's job.
 * - `addresses`: its addresses;
 * - `socketHandles`: the proxy's HBONE listening sockets for it, as registry handles (the kernel
 *   map keeps a reference to the socket itself), at most one per address family. Each address is
 *   steered to a listener of its family: an IPv4 address to the IPv4 listener, else to a
 *   dual-stack IPv6 one; an IPv6 address to the IPv6 listener. An address without a listener of
 *   its family has no socket entry (its connections take the normal lookup). Absent: the socket
 *   entries the pod's addresses already have are kept (e.g. after an agent restart, until the
 *   listeners are found again); none is created. `[]`: the pod has no listener (e.g. its proxy
 *   exited): its socket entries go.
 *
 * Raw fd numbers (`socketFds`, `socketFd` of the first forms of this contract) are no longer
 * accepted: an fd number says nothing of who keeps it open, a handle does.
 */
import { z } from 'zod';
import { addressSchema } from './address-schema.js';
import { MAX_POD_SOCKETS, podUidProblem, SKLOOKUP_POD_KIND } from './kinds.js';

/** A handle of the agent's socket-handle registry: `h:<n>`, n >= 1. */
export const socketHandleSchema = z.string().regex(/^h:[1-9][0-9]{0,15}$/, 'a socket handle looks like "h:<n>" (from the agent\'s socket-handle registry)');

const ownFdPath = /^\/proc\/(self|thread-self|\d+)\/fd\//;

/** One `sklookup.pod` intent without `kind`. */
export const sklookupPodIntentSchema = z
  .strictObject({
    uid: z.string().superRefine((value, ctx) => {
      const problem = podUidProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    netnsHandle: socketHandleSchema.optional(),
    netns: z
      .string()
      .min(1, 'netns: give the path of the pod network namespace (e.g. /var/run/netns/NAME) or its name')
      .refine((p) => !ownFdPath.test(p), 'netns: an fd path is not stable; register the fd with the socket-handle registry and give netnsHandle')
      .optional(),
    addresses: z.array(addressSchema).min(1, 'addresses: a pod needs at least one address'),
    socketHandles: z
      .array(socketHandleSchema)
      .max(MAX_POD_SOCKETS, `socketHandles: at most ${MAX_POD_SOCKETS} listeners (one per address family)`)
      .refine((l) => new Set(l).size === l.length, 'socketHandles: each handle may be listed once')
      .optional(),
  })
  .refine((p) => (p.netns === undefined) !== (p.netnsHandle === undefined), {
    message: 'give the pod network namespace as netnsHandle (a registry handle) or netns (a path or name), exactly one of them',
    path: ['netnsHandle'],
  });

/** A `sklookup.pod` intent as a source publishes it. */
export type SklookupPodIntent = Readonly<z.output<typeof sklookupPodIntentSchema>> & { readonly kind: typeof SKLOOKUP_POD_KIND };
