/** The tunnel's config: its listeners, its peers, its TLS material. */
import { tryParseEndpoint, tryParsePrefix } from '@bpfsteer/ip';
import { z } from 'zod';

const endpoint = (anyPort: boolean) =>
  z.string().superRefine((value, ctx) => {
    const r = tryParseEndpoint(value, { anyPort });
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message });
  });
/** a listener's address; port 0: the kernel picks one (tests) */
const listener = endpoint(true);
const prefix = z.string().superRefine((value, ctx) => {
  const r = tryParsePrefix(value, { what: 'destination' });
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message });
});
const file = z.string().startsWith('/', 'give an absolute path');

/** The tunnel's fields (the tunnel source adds its own to them). */
export const tunnelConfigFields = {
    /** where redirected connections arrive (plugin-connect-redirect's target) */
    outbound: z.array(listener).default(['127.0.0.1:18000', '[::1]:18000']),
    /** where the other nodes' tunnels connect ("[::]:18001" takes IPv4 too) */
    inbound: z.array(listener).default(['[::]:18001']),
    /**
     * the node of a destination: the first peer whose prefix holds it; none: the destination's own
     * address on peerPort (the destination node's inbound listener answers there)
     */
    peers: z.array(z.strictObject({ destination: prefix, address: endpoint(false) })).default([]),
    peerPort: z.number().int().min(1).max(65535).default(18001),
    /** mutual TLS between nodes; false only with plainText: true */
    tls: z.union([
      z.strictObject({
        certFile: file,
        keyFile: file,
        /** the CA that signs every node's certificate */
        caFile: file,
        /** identities (URI or DNS subjectAltName) a peer may have; empty: any the CA signed */
        allowedIdentities: z.array(z.string().min(1)).default([]),
      }),
      z.literal(false),
    ]),
    /** with tls: false, say so: connections cross the network in the clear */
    plainText: z.boolean().default(false),
    /** a peer or a destination that does not answer within this is given up (ms) */
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
};

/** tls: false only with plainText: true */
export function checkPlainText(c: { tls: unknown; plainText: boolean }, ctx: z.RefinementCtx): void {
  if (c.tls === false && !c.plainText) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'false sends every connection in the clear between nodes: set plainText: true to mean it, or give certFile, keyFile and caFile' });
  }
}

export const tunnelConfigSchema = z.strictObject(tunnelConfigFields).superRefine(checkPlainText);

export type TunnelConfigInput = z.input<typeof tunnelConfigSchema>;
export type TunnelConfig = z.output<typeof tunnelConfigSchema>;
