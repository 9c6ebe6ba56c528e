/**
 * The DeltaAdsClient against a fake Istiod over localhost gRPC (plaintext and TLS). No kernel.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADDRESS_TYPE_URL, applyDeltaResponse, DeltaAdsClient, emptyAddressState, loadXdsProtos, type DeltaAdsClientOptionsInput, meshView, resourceVersions, type XdsChange, type XdsDisconnect, type XdsNack } from '../src/index.js';
import { FakeIstiod, workloadResource } from './support/fake-istiod.js';
import { makeTestCertificates, type TestCertificates } from './support/test-certificates.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function startFake(options?: Parameters<typeof FakeIstiod.start>[0]): Promise<FakeIstiod> {
  const fake = await FakeIstiod.start(options);
  cleanups.push(() => fake.stop());
  return fake;
}

interface Recorder {
  changes: XdsChange[];
  nacks: XdsNack[];
  disconnects: XdsDisconnect[];
}

function startClient(options: Partial<DeltaAdsClientOptionsInput> & { address: string }): { client: DeltaAdsClient; seen: Recorder } {
  const client = new DeltaAdsClient({ node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' }, backoff: { initialMs: 20, maxMs: 200 }, ...options });
  const seen: Recorder = { changes: [], nacks: [], disconnects: [] };
  client.on('change', (c) => seen.changes.push(c));
  client.on('nack', (n) => seen.nacks.push(n));
  client.on('disconnected', (d) => seen.disconnects.push(d));
  client.start();
  cleanups.push(() => client.stop());
  return { client, seen };
}

const snapshot = [
  workloadResource({ uid: 'w1', addresses: ['10.0.0.1', 'fd00::1'], node: 'node-a', version: 'v1' }),
  workloadResource({ uid: 'w2', addresses: ['10.0.0.2'], node: 'node-b', version: 'v1' }),
  workloadResource({ uid: 'w3', addresses: ['10.0.0.3'], tunnelProtocol: 'NONE', version: 'v1' }),
];

describe('DeltaAdsClient over localhost gRPC', () => {
  it('subscribes with a wildcard, applies each response and ACKs it by nonce', async () => {
    const fake = await startFake();
    const { client, seen } = startClient({ address: fake.address, node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local', metadata: { NODE_NAME: 'node-a' } } });
    const subscribe = await fake.subscription(1);
    expect(subscribe.request).toMatchObject({ type_url: ADDRESS_TYPE_URL, resource_names_subscribe: [], initial_resource_versions: {} });
    expect(subscribe.request.node?.id).toBe('ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local');
    expect(subscribe.authorization).toBeUndefined();

    const n1 = fake.push({ resources: snapshot, system_version_info: 'snap-1' });
    const ack1 = await fake.answerTo(n1);
    expect(ack1.role).toBe('ack');
    expect(ack1.request.type_url).toBe(ADDRESS_TYPE_URL);
    expect(resourceVersions(client.state)).toEqual({ w1: 'v1', w2: 'v1', w3: 'v1' });
    expect(meshView(client.state, 'node-a')).toEqual({
      members: ['10.0.0.1', '10.0.0.2', 'fd00::1'],
      localWorkloads: [{ uid: 'w1', name: 'w1', namespace: 'default', addresses: ['10.0.0.1', 'fd00::1'] }],
    });

    const n2 = fake.push({ resources: [workloadResource({ uid: 'w3', addresses: ['10.0.0.3'], version: 'v2' })] });
    expect((await fake.answerTo(n2)).role).toBe('ack');
    expect(meshView(client.state).members).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1']);
    expect(seen.changes.map((c) => [c.nonce, c.upserted, c.removed, c.systemVersionInfo])).toEqual([
      [n1, ['w1', 'w2', 'w3'], [], 'snap-1'],
      [n2, ['w3'], [], ''],
    ]);
    expect(client.connected).toBe(true);
  });

  it('removes workloads named in removed_resources', async () => {
    const fake = await startFake();
    const { client, seen } = startClient({ address: fake.address });
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: snapshot }));
    const n = fake.push({ removed_resources: ['w1', 'unknown'] });
    expect((await fake.answerTo(n)).role).toBe('ack');
    expect([...client.state.resources.keys()]).toEqual(['w2', 'w3']);
    expect(meshView(client.state, 'node-a')).toEqual({ members: ['10.0.0.2'], localWorkloads: [] });
    expect(seen.changes.at(-1)?.removed).toEqual(['w1']);
  });

  it('a malformed resource is NACKed by name while the good ones beside it are applied (ztunnel src/xds/client.rs); a response of another type is refused whole', async () => {
    const fake = await startFake();
    const { client, seen } = startClient({ address: fake.address });
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: snapshot }));

    const bad = fake.push({
      resources: [
        workloadResource({ uid: 'w9', addresses: ['10.0.0.9'] }),
        { name: 'broken', version: '1', resource: { type_url: ADDRESS_TYPE_URL, value: Buffer.from([0x0a, 0x7f, 0x01]) } },
      ],
      removed_resources: ['w1'],
    });
    const nack = await fake.answerTo(bad);
    expect(nack.role).toBe('nack');
    expect(nack.request.error_detail).toMatchObject({ code: 3, message: expect.stringMatching(/^resource "broken" does not decode/) });
    expect([...client.state.resources.keys()].sort()).toEqual(['w2', 'w3', 'w9']); // w9 added, w1 removed: not lost with "broken"
    expect(seen.changes.at(-1)).toMatchObject({ upserted: ['w9'], removed: ['w1'], nonce: bad });
    expect(seen.nacks.at(-1)).toEqual({ nonce: bad, error: nack.request.error_detail?.message, rejected: ['broken'] });
    const after = client.state;

    const foreign = fake.push({ type_url: 'type.googleapis.com/istio.security.Authorization', resources: [] });
    const foreignNack = await fake.answerTo(foreign);
    expect(foreignNack.request.type_url).toBe('type.googleapis.com/istio.security.Authorization');
    expect(foreignNack.request.error_detail?.message).toMatch(/unknown type URL "type\.googleapis\.com\/istio\.security\.Authorization"/);

    const wrongAny = fake.push({ resources: [{ name: 'x', version: '1', resource: { type_url: 'type.googleapis.com/istio.workload.Other', value: Buffer.alloc(0) } }] });
    expect((await fake.answerTo(wrongAny)).role).toBe('nack');

    expect(client.state).toBe(after); // nothing of these two applied, nothing lost
    expect(seen.changes).toHaveLength(2);
    expect(seen.nacks.map((n) => n.nonce)).toEqual([bad, foreign, wrongAny]);

    // the stream stays usable: the next good response is applied and ACKed
    const good = fake.push({ resources: [workloadResource({ uid: 'w8', addresses: ['10.0.0.8'] })] });
    expect((await fake.answerTo(good)).role).toBe('ack');
    expect(client.state.resources.has('w8')).toBe(true);
    expect(fake.streamCount).toBe(1);
  });

  it('a first snapshot with one bad resource publishes the others: the mesh is not left empty', async () => {
    const fake = await startFake();
    const { client } = startClient({ address: fake.address });
    await fake.subscription(1);
    const first = fake.push({
      resources: [...snapshot, { name: 'broken', version: '1', resource: { type_url: ADDRESS_TYPE_URL, value: Buffer.from([0x0a, 0x7f, 0x01]) } }],
    });
    expect((await fake.answerTo(first)).role).toBe('nack');
    expect([...client.state.resources.keys()].sort()).toEqual(['w1', 'w2', 'w3']);
  });

  it('reconnects after the stream drops, echoing initial_resource_versions, with no state change in between', async () => {
    const fake = await startFake();
    const { client, seen } = startClient({ address: fake.address });
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: snapshot }));
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'w2', addresses: ['10.0.0.2'], version: 'v2' })] }));
    const held = client.state;
    const changesBefore = seen.changes.length;

    fake.dropStreams();
    const resubscribe = await fake.subscription(2);
    expect(resubscribe.request.initial_resource_versions).toEqual({ w1: 'v1', w2: 'v2', w3: 'v1' });
    expect(resubscribe.request.node?.id).toBe('ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local');
    expect(seen.disconnects).toHaveLength(1);
    expect(seen.disconnects[0].reason).toMatch(/UNAVAILABLE/);
    expect(client.state).toBe(held);
    expect(seen.changes).toHaveLength(changesBefore);

    // the server answers the reconnect with only what changed
    const n = fake.push({ resources: [workloadResource({ uid: 'w4', addresses: ['10.0.0.4'] })] });
    expect((await fake.answerTo(n)).stream).toBe(2);
    expect([...client.state.resources.keys()]).toEqual(['w1', 'w2', 'w3', 'w4']);
  });

  it('keeps the state and retries with capped, growing delays while Istiod is unreachable', async () => {
    const fake = await startFake();
    const address = fake.address;
    const client = new DeltaAdsClient(
      { address, node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' }, backoff: { initialMs: 10, maxMs: 40 } },
      { random: () => 0.999999 },
    );
    const disconnects: XdsDisconnect[] = [];
    client.on('disconnected', (d) => disconnects.push(d));
    client.start();
    cleanups.push(() => client.stop());
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: snapshot }));
    const held = client.state;
    await fake.stop();
    await fake.waitFor(() => disconnects.length >= 5, 'five failed attempts', 10_000);
    await client.stop();
    expect(disconnects.slice(0, 5).map((d) => d.retryInMs)).toEqual([10, 20, 40, 40, 40]);
    expect(client.state).toBe(held);
  });
});

describe('DeltaAdsClient over TLS', () => {
  let certs: TestCertificates;

  it('verifies Istiod against the CA bundle and sends the token, re-read on reconnect', async () => {
    certs = makeTestCertificates();
    cleanups.push(() => certs.remove());
    const fake = await startFake({ tls: { cert: certs.serverCert, key: certs.serverKey } });
    const tokenFile = join(certs.dir, 'istio-token');
    writeFileSync(tokenFile, 'token-one\n');
    const { client } = startClient({
      address: fake.address,
      tls: { caFile: certs.caFile, serverName: certs.serverName },
      tokenFile,
    });
    expect((await fake.subscription(1)).authorization).toBe('Bearer token-one');
    await fake.answerTo(fake.push({ resources: snapshot }));
    expect(client.state.resources.size).toBe(3);

    writeFileSync(tokenFile, 'token-two\n');
    fake.dropStreams();
    const again = await fake.subscription(2);
    expect(again.authorization).toBe('Bearer token-two');
    expect(Object.keys(again.request.initial_resource_versions).sort()).toEqual(['w1', 'w2', 'w3']);
  });

  it('does not talk to a server whose certificate the CA bundle does not vouch for', async () => {
    certs = makeTestCertificates();
    const other = makeTestCertificates();
    cleanups.push(() => certs.remove(), () => other.remove());
    const fake = await startFake({ tls: { cert: other.serverCert, key: other.serverKey } });
    const { seen } = startClient({ address: fake.address, tls: { caFile: certs.caFile, serverName: certs.serverName } });
    await fake.waitFor(() => seen.disconnects.length >= 2, 'two failed TLS attempts');
    expect(fake.requests).toHaveLength(0);
    expect(seen.disconnects[0].reason).toMatch(/UNAVAILABLE/);
  });

  it('retries (without crashing) while the token file is missing', async () => {
    certs = makeTestCertificates();
    cleanups.push(() => certs.remove());
    const fake = await startFake({ tls: { cert: certs.serverCert, key: certs.serverKey } });
    const tokenFile = join(certs.dir, 'late-token');
    const { seen } = startClient({ address: fake.address, tls: { caFile: certs.caFile, serverName: certs.serverName }, tokenFile });
    await fake.waitFor(() => seen.disconnects.length >= 1, 'a failed attempt');
    expect(seen.disconnects[0].reason).toMatch(/cannot read the service-account token .*late-token: ENOENT/);
    writeFileSync(tokenFile, 'late');
    expect((await fake.subscription(1, 10_000)).authorization).toBe('Bearer late');
  });
});

describe('DeltaAdsClient with a large snapshot', () => {
  it('applies a 10,000-workload snapshot (time is reported, not asserted)', async () => {
    const fake = await startFake();
    const { client, seen } = startClient({ address: fake.address });
    await fake.subscription(1);
    const resources = Array.from({ length: 10_000 }, (_, i) =>
      workloadResource({
        uid: `Kubernetes//Pod/ns-${i % 50}/pod-${i}`,
        addresses: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `fd00::${i.toString(16)}`],
        node: `node-${i % 100}`,
        version: 'v1',
      }),
    );
    const started = performance.now();
    const nonce = fake.push({ resources });
    await fake.answerTo(nonce, 30_000);
    const endToEndMs = performance.now() - started;
    expect(client.state.resources.size).toBe(10_000);
    const viewStarted = performance.now();
    const view = meshView(client.state, 'node-7');
    const viewMs = performance.now() - viewStarted;
    expect(view.members).toHaveLength(20_000);
    expect(view.localWorkloads).toHaveLength(100);
    expect(seen.changes).toHaveLength(1);

    const deltaStarted = performance.now();
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'extra', addresses: ['10.255.0.1'] })] }));
    const deltaMs = performance.now() - deltaStarted;
    // the client-side part alone: decode the response message and apply it to an empty state
    const protos = loadXdsProtos();
    const bytes = protos.deltaMethod.responseSerialize({ type_url: ADDRESS_TYPE_URL, nonce: 'm', resources });
    const applyStarted = performance.now();
    const applied = applyDeltaResponse(emptyAddressState, protos.deltaMethod.responseDeserialize(bytes), {
      typeUrl: ADDRESS_TYPE_URL,
      decodeAddress: protos.decodeAddress,
    });
    const applyMs = performance.now() - applyStarted;
    expect(applied.ok).toBe(true);
    console.log(
      `[measure] 10,000-workload snapshot (${(bytes.length / 1e6).toFixed(2)} MB): decode + apply ${applyMs.toFixed(0)} ms; ` +
        `push -> applied -> ACK seen by server ${endToEndMs.toFixed(0)} ms; ` +
        `meshView ${viewMs.toFixed(1)} ms; one incremental update round trip ${deltaMs.toFixed(1)} ms`,
    );
  }, 60_000);
});
