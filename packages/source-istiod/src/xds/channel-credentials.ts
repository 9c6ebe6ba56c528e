/** Reads the CA bundle and the token (every time a stream is opened, so rotated files are picked up). */
import { readFile } from 'node:fs/promises';
import { type ChannelCredentials, type ChannelOptions, credentials, Metadata } from '@grpc/grpc-js';
import type { DeltaAdsClientOptions } from './delta-ads-options.js';
import { parseNodeId, tokenClaims, tokenProblems } from './istiod-identity.js';

export interface StreamCredentials {
  readonly channelCredentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  readonly metadata: Metadata;
  /** why Istiod would refuse the token read (its audience, its namespace), for the log */
  readonly tokenProblems: readonly string[];
}

/** Why Istiod would refuse `token` from the proxy the options describe (istiod-identity.ts). */
function problemsOf(token: string, options: DeltaAdsClientOptions): string[] {
  const claims = tokenClaims(token);
  if (!claims.ok) return claims.problems.map((p) => `the service-account token ${options.tokenFile} ${p}`);
  const node = parseNodeId(options.node.id, options.node.metadata);
  if (!node.ok) return []; // the config check refused it already
  return tokenProblems(claims.value, node.value).map((p) => `the service-account token ${options.tokenFile}: ${p}`);
}

async function readText(what: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new Error(`cannot read the ${what} ${path}: ${code}`);
  }
}

export async function readStreamCredentials(options: DeltaAdsClientOptions): Promise<StreamCredentials> {
  const channelOptions: ChannelOptions = {
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
  };
  if (options.keepaliveMs) {
    channelOptions['grpc.keepalive_time_ms'] = options.keepaliveMs;
    channelOptions['grpc.keepalive_timeout_ms'] = 10_000;
  }
  const metadata = new Metadata();
  if (!options.tls) {
    return { channelCredentials: credentials.createInsecure(), channelOptions, metadata, tokenProblems: [] };
  }
  const ca = await readText('CA bundle', options.tls.caFile);
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`the CA bundle ${options.tls.caFile} holds no PEM certificate`);
  }
  if (options.tls.serverName) {
    channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
    channelOptions['grpc.default_authority'] = options.tls.serverName;
  }
  let problems: string[] = [];
  if (options.tokenFile) {
    const token = (await readText('service-account token', options.tokenFile)).trim();
    if (!token) throw new Error(`the service-account token file ${options.tokenFile} is empty`);
    metadata.set('authorization', `Bearer ${token}`);
    problems = problemsOf(token, options);
  }
  return { channelCredentials: credentials.createSsl(Buffer.from(ca)), channelOptions, metadata, tokenProblems: problems };
}
