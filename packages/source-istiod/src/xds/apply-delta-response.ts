/**
 * The pure heart of the client: one DeltaDiscoveryResponse applied to the state held, all or
 * nothing. Any problem (wrong type URL, a resource that does not decode, a bad address, a name
 * given twice) rejects the whole response: the caller NACKs it and keeps the state it had.
 */
import { type AddressEntry, type AddressState, translateAddress } from './address-state.js';
import { PersistentMap } from './persistent-map.js';
import type { AddressDecoder, RawDeltaDiscoveryResponse } from './xds-messages.js';

export interface AppliedResponse {
  readonly ok: true;
  readonly state: AddressState;
  /** names added or changed, in response order */
  readonly upserted: readonly string[];
  /** names removed that were held (removals of unknown names are ignored, as the protocol says) */
  readonly removed: readonly string[];
}

export interface RejectedResponse {
  readonly ok: false;
  /** what was wrong, for the NACK's error_detail and the log */
  readonly error: string;
}

export interface ApplyOptions {
  /** the type URL subscribed to; responses and resources of any other type are rejected */
  readonly typeUrl: string;
  readonly decodeAddress: AddressDecoder;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function applyDeltaResponse(
  state: AddressState,
  response: RawDeltaDiscoveryResponse,
  options: ApplyOptions,
): AppliedResponse | RejectedResponse {
  const reject = (error: string): RejectedResponse => ({ ok: false, error });
  if (response.type_url !== options.typeUrl) {
    return reject(`unknown type URL "${response.type_url}" in the response (subscribed: ${options.typeUrl})`);
  }
  const entries: AddressEntry[] = [];
  const seen = new Set<string>();
  for (const [index, resource] of response.resources.entries()) {
    const name = resource.name || resource.resource_name?.name || '';
    if (!name) return reject(`resource ${index} has no name`);
    if (seen.has(name)) return reject(`resource "${name}" appears twice in one response`);
    seen.add(name);
    const body = resource.resource;
    if (!body) return reject(`resource "${name}" has no body (resource field unset)`);
    if (body.type_url !== options.typeUrl) {
      return reject(`resource "${name}" has unknown type URL "${body.type_url}" (subscribed: ${options.typeUrl})`);
    }
    let decoded;
    try {
      decoded = options.decodeAddress(body.value);
    } catch (err) {
      return reject(`resource "${name}" does not decode as istio.workload.Address: ${errorText(err)}`);
    }
    const entry = translateAddress(name, resource.version, decoded);
    if (!entry.ok) return reject(entry.error);
    entries.push(entry.value);
  }
  const removals = [...response.removed_resources, ...response.removed_resource_names.map((r) => r.name)];
  for (const name of removals) {
    if (seen.has(name)) return reject(`resource "${name}" is both updated and removed in one response`);
  }

  // the state is persistent: the new one shares every untouched resource with the old one, so a
  // response costs what it changes, not what is held
  const removed: string[] = [];
  const next = PersistentMap.from(state.resources).batch((w) => {
    for (const entry of entries) w.set(entry.name, entry);
    for (const name of removals) if (w.delete(name)) removed.push(name);
  });
  return { ok: true, state: { resources: next }, upserted: entries.map((e) => e.name), removed };
}
