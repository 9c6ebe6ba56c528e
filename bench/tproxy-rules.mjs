// Rule sets for the tproxy benches: `tproxy.rule` intents shaped like a router's services (mostly
// host destinations with a single port, some wider prefixes, port ranges, source restrictions, pass
// and deny rules), deterministic (xorshift32), plus "probe" rules the measured packets hit.
import { networkOf } from '@bpfsteer/ip';

/** A deterministic random source: rnd() in [0, 1). */
export function makeRandom(seed = 0x2545f491) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const weighted = (table) => {
    let x = rnd() * table.reduce((a, [w]) => a + w, 0);
    for (const [w, v] of table) if ((x -= w) < 0) return v;
    return table[table.length - 1][1];
  };
  return { rnd, int, weighted };
}

/** Text of the network of `bytes` (4 or 16, network order) at `length` (bits after it cleared). */
export function prefixText(bytes, length) {
  return networkOf({ family: bytes.length === 4 ? 4 : 6, bytes }, length).text;
}

/** A tproxy.rule intent. */
export function ruleIntent({ destination, source, protocol = 'tcp', low, high = low, action = 'divert', tproxyPort, service }) {
  const family6 = destination.includes(':');
  return {
    kind: 'tproxy.rule',
    destination,
    source: source ?? (family6 ? '::/0' : '0.0.0.0/0'),
    protocol,
    ports: { low, high },
    action,
    ...(action === 'divert' ? { tproxyPort } : {}),
    ...(service !== undefined ? { service } : {}),
  };
}

/** Whether the first `length` bits of `a` and `b` are equal. */
function samePrefix(a, b, length) {
  for (let bit = 0; bit < length; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3] & m) !== (b[bit >> 3] & m)) return false;
  }
  return true;
}

const FAMILY = {
  // every destination (probes and the uncovered address too) is drawn from the same space
  // (1.0.0.0-99.255.255.255 / 2a00::/12), so the packets walk the same depth of the tries
  4: {
    size: 4,
    lengths: [[75, 32], [10, 24], [8, 28], [5, 20], [2, 16]],
    base: (r) => Uint8Array.of(r.int(1, 99), r.int(0, 255), r.int(0, 255), r.int(0, 255)),
    sourceLengths: [[1, 8], [1, 16], [1, 24]],
  },
  6: {
    size: 16,
    lengths: [[75, 128], [10, 64], [8, 112], [5, 56], [2, 48]],
    base: (r) => {
      const b = Uint8Array.from({ length: 16 }, () => r.int(0, 255));
      b[0] = 0x2a;
      b[1] = b[1] & 0x0f;
      return b;
    },
    sourceLengths: [[1, 32], [1, 48], [1, 64]],
  },
};

/**
 * `n` rules of one family: min(probes, n) probe rules (a host destination each, TCP `probePort` ->
 * divert to `tproxyPort`, any source, service "probe-<i>" for i = 1..) and n - probes random ones. Returns the intents, the probe
 * destinations (network-order bytes) and an address in the same space that no rule covers.
 */
export function routerRuleSet({ family, n, probes = 8, probePort = 443, tproxyPort, seed = 1 }) {
  const f = FAMILY[family];
  const r = makeRandom(0x9e3779b9 ^ (seed * 2654435761) ^ n ^ family);
  const hostLength = f.size * 8;
  const nProbes = Math.min(probes, n);
  const intents = [];
  const probeAddresses = [];
  const destinations = []; // [bytes, length]
  const seen = new Set();
  for (let i = 0; i < nProbes; i++) {
    const a = f.base(r);
    const destination = prefixText(a, hostLength);
    if (seen.has(`${destination} tcp ${probePort}`)) continue;
    seen.add(`${destination} tcp ${probePort}`);
    probeAddresses.push(a);
    destinations.push([a, hostLength]);
    intents.push(ruleIntent({ destination, low: probePort, tproxyPort, service: `probe-${probeAddresses.length}` }));
  }
  while (intents.length < n) {
    const base = f.base(r);
    const length = r.weighted(f.lengths);
    const destination = prefixText(base, length);
    const protocol = r.rnd() < 0.7 ? 'tcp' : 'udp';
    const source = r.rnd() < 0.85 ? undefined : prefixText(f.base(r), r.weighted(f.sourceLengths));
    let low;
    let high;
    const shape = r.rnd();
    if (shape < 0.8) low = high = r.int(1, 65535);
    else if (shape < 0.9) {
      low = r.int(1, 600) * 100;
      high = low + 99;
    } else {
      low = 0;
      high = 65535;
    }
    // a probe's port on a probe's host stays the probe's
    if (length === hostLength && protocol === 'tcp' && low <= probePort && probePort <= high) continue;
    const key = `${destination} ${source} ${protocol} ${low} ${high}`;
    if (seen.has(key)) continue;
    seen.add(key);
    destinations.push([base, length]);
    const action = r.weighted([[80, 'divert'], [15, 'pass'], [5, 'deny']]);
    intents.push(ruleIntent({ destination, source, protocol, low, high, action, tproxyPort: action === 'divert' ? r.int(20000, 60000) : undefined }));
  }
  let missAddress;
  do missAddress = f.base(r);
  while (destinations.some(([b, len]) => samePrefix(b, missAddress, len)));
  return { intents, probeAddresses, missAddress };
}
