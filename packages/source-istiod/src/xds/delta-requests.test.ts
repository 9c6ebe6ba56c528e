import { describe, expect, it } from 'vitest';
import { serviceResource, workloadResource } from '../../test/support/fake-istiod.js';
import { emptyAddressState } from './address-state.js';
import { applyDeltaResponse } from './apply-delta-response.js';
import { ackRequest, nackRequest, nodeMessage, RPC_INVALID_ARGUMENT, subscribeRequest } from './delta-requests.js';
import { ADDRESS_TYPE_URL, type DeltaDiscoveryRequestInput } from './xds-messages.js';
import { loadXdsProtos } from './xds-protos.js';

const protos = loadXdsProtos();
const wire = (request: DeltaDiscoveryRequestInput) =>
  protos.deltaMethod.requestDeserialize(protos.deltaMethod.requestSerialize(request));

describe('delta requests', () => {
  const node = nodeMessage({ id: 'bpfsteer~10.0.0.5~n1', cluster: 'Kubernetes', metadata: { NODE_NAME: 'n1', PORT: 15008, AMBIENT: true } }, '1.2.3');

  it('the first request of a fresh stream: node, type URL, wildcard, no versions', () => {
    const request = wire(subscribeRequest(node, ADDRESS_TYPE_URL, emptyAddressState));
    expect(request).toMatchObject({
      type_url: ADDRESS_TYPE_URL,
      resource_names_subscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      error_detail: null,
    });
    expect(request.node).toMatchObject({ id: 'bpfsteer~10.0.0.5~n1', cluster: 'Kubernetes', user_agent_name: 'bpfsteer', user_agent_version: '1.2.3' });
    expect(request.node?.metadata).toEqual({
      fields: { NODE_NAME: { stringValue: 'n1', kind: 'stringValue' }, PORT: { numberValue: 15008, kind: 'numberValue' }, AMBIENT: { boolValue: true, kind: 'boolValue' } },
    });
  });

  it('a re-opened stream sends every resource held with its version', () => {
    const held = applyDeltaResponse(
      emptyAddressState,
      protos.deltaMethod.responseDeserialize(
        protos.deltaMethod.responseSerialize({
          type_url: ADDRESS_TYPE_URL,
          nonce: 'n1',
          resources: [workloadResource({ uid: 'w1', version: 'a' }), serviceResource({ namespace: 'ns', hostname: 'h', version: 'b' })],
        }),
      ),
      { typeUrl: ADDRESS_TYPE_URL, decodeAddress: protos.decodeAddress },
    );
    if (!held.ok) throw new Error(held.error);
    expect(wire(subscribeRequest(node, ADDRESS_TYPE_URL, held.state)).initial_resource_versions).toEqual({ w1: 'a', 'ns/h': 'b' });
  });

  it('ACK carries the nonce only; NACK adds error_detail INVALID_ARGUMENT with the message', () => {
    expect(wire(ackRequest(ADDRESS_TYPE_URL, 'n7'))).toMatchObject({ type_url: ADDRESS_TYPE_URL, response_nonce: 'n7', error_detail: null, node: null });
    expect(wire(nackRequest(ADDRESS_TYPE_URL, 'n8', 'bad bytes'))).toMatchObject({
      response_nonce: 'n8',
      error_detail: { code: RPC_INVALID_ARGUMENT, message: 'bad bytes' },
    });
  });
});
