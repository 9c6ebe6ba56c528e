// A fake Istiod for bench/xds-convergence, run as its own process (`node bench/mesh-istiod.mjs`):
// a plaintext grpc-js DeltaAggregatedResources server on 127.0.0.1 over @bpfsteer/source-istiod's
// protos. Responses are serialised when prepared, so a push costs the transport only.
//
// stdin, one JSON command per line:
//   {"op":"prepare","id":ID,"from":I,"count":N,"localEvery":K,"node":NODE}
//       builds a response upserting the HBONE workloads I .. I+N-1 (uid "bench/wl-<i>", one IPv4
//       address each, see workloadAddress); every K-th one runs on node NODE (the rest elsewhere)
//   {"op":"prepare","id":ID,"from":I,"count":N,"remove":true}
//       builds a response removing those workloads instead
//   {"op":"push","id":ID}   writes that response on the newest stream
// stdout, one JSON event per line:
//   {"event":"listening","port":P}  {"event":"prepared","id":ID,"bytes":B}
//   {"event":"subscribe","stream":S,"initial":V}   (V = initial_resource_versions held by the client)
//   {"event":"answered","id":ID,"ack":true|false,"ms":T}   T = ms from the push to the ACK/NACK
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createInterface } from 'node:readline';
import { parseIp } from '@bpfsteer/ip';
import { ADDRESS_TYPE_URL, loadXdsProtos } from '@bpfsteer/source-istiod';
import { workloadAddress } from './mesh-workloads.mjs';

const protos = loadXdsProtos();
const method = protos.deltaMethod;
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

// the ADS service with a response serialiser that passes prepared bytes through
const service = {
  ...protos.adsService,
  DeltaAggregatedResources: {
    ...protos.adsService.DeltaAggregatedResources,
    responseSerialize: (value) => (Buffer.isBuffer(value) ? value : method.responseSerialize(value)),
  },
};

const prepared = new Map();
const pending = new Map(); // nonce -> { id, t0 }
const streams = new Map();
let streamCount = 0;
let nonceCount = 0;

function prepare({ id, from, count, localEvery, node, remove }) {
  const resources = [];
  const removed = [];
  for (let i = from; i < from + count; i++) {
    if (remove) {
      removed.push(`bench/wl-${i}`);
      continue;
    }
    const address = workloadAddress(i);
    const uid = `bench/wl-${i}`;
    const value = protos.encodeAddress({
      workload: {
        uid,
        name: `wl-${i}`,
        namespace: `ns-${i % 50}`,
        addresses: [Buffer.from(parseIp(address).bytes)],
        node: localEvery > 0 && i % localEvery === 0 ? node : `node-${i % 97}`,
        tunnel_protocol: 'HBONE',
        network_mode: 'STANDARD',
      },
    });
    resources.push({ name: uid, version: '1', aliases: [`/${address}`], resource: { type_url: ADDRESS_TYPE_URL, value } });
  }
  const nonce = `bench-${(nonceCount += 1)}`;
  const bytes = method.responseSerialize({ type_url: ADDRESS_TYPE_URL, system_version_info: id, resources, removed_resources: removed, nonce });
  prepared.set(id, { nonce, bytes });
  say({ event: 'prepared', id, bytes: bytes.length });
}

function push({ id }) {
  const p = prepared.get(id);
  if (!p) throw new Error(`fake istiod: nothing prepared as ${id}`);
  const call = streams.get(Math.max(...streams.keys()));
  if (!call) throw new Error('fake istiod: no open stream');
  pending.set(p.nonce, { id, t0: performance.now() });
  call.write(p.bytes);
}

const server = new Server();
server.addService(service, {
  DeltaAggregatedResources(call) {
    const stream = (streamCount += 1);
    streams.set(stream, call);
    call.on('data', (request) => {
      if (!request.response_nonce) {
        say({ event: 'subscribe', stream, initial: Object.keys(request.initial_resource_versions ?? {}).length });
        return;
      }
      const p = pending.get(request.response_nonce);
      if (!p) return;
      pending.delete(request.response_nonce);
      say({ event: 'answered', id: p.id, ack: !request.error_detail, ms: performance.now() - p.t0 });
    });
    const gone = () => streams.delete(stream);
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('cancelled', gone);
    call.on('error', gone);
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`fake istiod: ${err.message}`);
    process.exit(1);
  }
  say({ event: 'listening', port });
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  if (command.op === 'prepare') prepare(command);
  else if (command.op === 'push') push(command);
  else throw new Error(`fake istiod: unknown op ${command.op}`);
});
process.stdin.on('end', () => process.exit(0));
