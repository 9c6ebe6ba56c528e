/**
 * The pure heart of the client: one DeltaDiscoveryResponse applied to the state held, resource by
 * resource, as ztunnel does (istio/ztunnel src/xds/client.rs: a resource that does not decode is
 * rejected on its own, the others and the removals are applied, and the NACK's error_detail lists
 * the rejected ones). Delta xDS never resends what a NACK refused, so refusing a whole response
 * for one bad resource would lose the good ones beside it, all of them when it is the first
 * snapshot. A rejected resource keeps the version held before (if any). Only a response of
 * another type URL is rejected whole.
 */
import { type AddressEntry, type AddressState, translateAddress } from './address-state.js';
import { PersistentMap } from './persistent-map.js';
import type { AddressDecoder, RawDeltaDiscoveryResponse } from './xds-messages.js';

/** A resource left out of a response's application, and why (the reason names it). */
export interface RejectedResource {
  /** its name, or `resource <index>` when it has none */
  readonly name: string;
  readonly reason: string;
}

export interface AppliedResponse {
  readonly ok: true;
  readonly state: AddressState;
  /** names added or changed, in response order */
  readonly upserted: readonly string[];
  /** names removed that were held (removals of unknown names are ignored, as the protocol says) */
  readonly removed: readonly string[];
  /** the resources not applied (the response is NACKed with them when there are any) */
  readonly rejected: readonly RejectedResource[];
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

/** The NACK's error_detail for `rejected`: each reason, joined with "; " (as ztunnel words it). */
export function rejectionDetail(rejected: readonly RejectedResource[]): string {
  return rejected.map((r) => r.reason).join('; ');
}

/** A resource's name as the response gives it ('' when it has none). */
const nameOf = (resource: RawDeltaDiscoveryResponse['resources'][number]): string => resource.name || resource.resource_name?.name || '';

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function applyDeltaResponse(
  state: AddressState,
  response: RawDeltaDiscoveryResponse,
  options: ApplyOptions,
): AppliedResponse | RejectedResponse {
  if (response.type_url !== options.typeUrl) {
    return { ok: false, error: `unknown type URL "${response.type_url}" in the response (subscribed: ${options.typeUrl})` };
  }
  const rejected: RejectedResource[] = [];
  const reject = (name: string, reason: string): void => void rejected.push({ name, reason });
  const removals = [...response.removed_resources, ...response.removed_resource_names.map((r) => r.name)];
  const removing = new Set(removals);
  // a name given twice, or updated and removed in one response: none of its parts is applied
  const counts = new Map<string, number>();
  for (const resource of response.resources) {
    const name = nameOf(resource);
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const ambiguous = new Set<string>();
  const entries: AddressEntry[] = [];
  for (const [index, resource] of response.resources.entries()) {
    const name = nameOf(resource);
    if (!name) {
      reject(`resource ${index}`, `resource ${index} has no name`);
      continue;
    }
    if (counts.get(name)! > 1) {
      if (!ambiguous.has(name)) reject(name, `resource "${name}" appears twice in one response`);
      ambiguous.add(name);
      continue;
    }
    if (removing.has(name)) {
      ambiguous.add(name);
      reject(name, `resource "${name}" is both updated and removed in one response`);
      continue;
    }
    const body = resource.resource;
    if (!body) {
      reject(name, `resource "${name}" has no body (resource field unset)`);
      continue;
    }
    if (body.type_url !== options.typeUrl) {
      reject(name, `resource "${name}" has unknown type URL "${body.type_url}" (subscribed: ${options.typeUrl})`);
      continue;
    }
    let decoded;
    try {
      decoded = options.decodeAddress(body.value);
    } catch (err) {
      reject(name, `resource "${name}" does not decode as istio.workload.Address: ${errorText(err)}`);
      continue;
    }
    const entry = translateAddress(name, resource.version, decoded);
    if (!entry.ok) reject(name, entry.error);
    else entries.push(entry.value);
  }

  // the state is persistent: the new one shares every untouched resource with the old one, so a
  // response costs what it changes, not what is held
  const removed: string[] = [];
  const next = PersistentMap.from(state.resources).batch((w) => {
    for (const entry of entries) w.set(entry.name, entry);
    for (const name of removals) if (!ambiguous.has(name) && w.delete(name)) removed.push(name);
  });
  const changed = entries.length > 0 || removed.length > 0;
  return { ok: true, state: changed ? { resources: next } : state, upserted: entries.map((e) => e.name), removed, rejected };
}
