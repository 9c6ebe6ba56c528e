/** Reads the CA bundle and the token (every time a stream is opened, so rotated files are picked up). */
import { readFile } from 'node:fs/promises';
import { type ChannelCredentials, type ChannelOptions, credentials, Metadata } from '@grpc/grpc-js';
import type { DeltaAdsClientOptions } from './delta-ads-options.js';

export interface StreamCredentials {
  readonly channelCredentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  readonly metadata: Metadata;
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
    return { channelCredentials: credentials.createInsecure(), channelOptions, metadata };
  }
  const ca = await readText('CA bundle', options.tls.caFile);
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`the CA bundle ${options.tls.caFile} holds no PEM certificate`);
  }
  if (options.tls.serverName) {
    channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
    channelOptions['grpc.default_authority'] = options.tls.serverName;
  }
  if (options.tokenFile) {
    const token = (await readText('service-account token', options.tokenFile)).trim();
    if (!token) throw new Error(`the service-account token file ${options.tokenFile} is empty`);
    metadata.set('authorization', `Bearer ${token}`);
  }
  return { channelCredentials: credentials.createSsl(Buffer.from(ca)), channelOptions, metadata };
}
