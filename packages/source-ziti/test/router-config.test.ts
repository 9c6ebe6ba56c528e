/** The router's own listeners read from its config (the shape of openziti/ziti etc/edge.router.yml). */
import { expect, test } from 'vitest';
import { routerListeners, routerPassRules } from '../src/router-config.js';

const EDGE_ROUTER = `
v: 3
identity:
  cert: \${ZITI_DATA}/edge-router-client.cert.pem
ctrl:
  endpoint: tls:127.0.0.1:6262
link:
  dialers:
    - binding: transport
  listeners:
    - binding: transport
      bind: tls:0.0.0.0:10080
      advertise: tls:router.example.com:10080
edge:
  apiProxy:
    listener: 0.0.0.0:1080
    upstream: 127.0.0.1:1280
listeners:
  - binding: edge
    address: tls:0.0.0.0:3022
    options:
      advertise: 127.0.0.1:3022
  - binding: transport
    address: tls:\${ROUTER_IP}:7099
  - binding: tunnel
    options:
      mode: tproxy:/usr/local/bin/bpfsteer-diverter
web:
  - name: health-check
    bindPoints:
      - interface: '[::]:8081'
        address: router.example.com:8081
`;

test('every listener of an edge router config, ${VAR} from the environment, [::] as both families', () => {
  const { listeners, problems } = routerListeners(EDGE_ROUTER, { ROUTER_IP: '192.0.2.10' });
  expect(problems).toEqual([]);
  expect(listeners.map((l) => `${l.from} ${l.protocol} ${l.destination} ${l.port}`)).toEqual([
    'listeners[0].address tcp 0.0.0.0/0 3022',
    'listeners[1].address tcp 192.0.2.10/32 7099',
    'link.listeners[0].bind tcp 0.0.0.0/0 10080',
    'edge.apiProxy.listener tcp 0.0.0.0/0 1080',
    'web[0].bindPoints[0].interface tcp ::/0 8081',
    'web[0].bindPoints[0].interface tcp 0.0.0.0/0 8081',
  ]);
  const rules = routerPassRules(listeners);
  expect(rules).toHaveLength(6);
  expect(rules[0]).toEqual({ destination: '0.0.0.0/0', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 3022, high: 3022 }, action: 'pass', interfaces: [], service: 'router-config' });
  expect(rules[4]).toMatchObject({ destination: '::/0', source: '::/0' });
});

test.each([
  ['an unset variable', 'listeners:\n  - address: tls:${NOPE}:3022\n', 'listeners[0].address: tls:${NOPE}:3022 names an environment variable that is not set here'],
  ['a host name', 'listeners:\n  - address: tls:router.example.com:3022\n', 'router.example.com is a host name; a rule needs an address'],
  ['an unknown scheme', 'listeners:\n  - address: quic:0.0.0.0:3022\n', 'unknown scheme quic'],
  ['no scheme where one is needed', 'listeners:\n  - address: 0.0.0.0:3022\n', 'is not "scheme:host:port"'],
  ['a port out of range', 'web:\n  - bindPoints:\n      - interface: 0.0.0.0:70000\n', 'port 70000 is out of range'],
  ['not YAML', 'listeners: [', 'not YAML'],
  ['not a mapping', '- a\n- b\n', 'not a router config'],
])('%s is reported, naming where; the rest is read', (_n, text, problem) => {
  const { problems } = routerListeners(`${text}`, {});
  expect(problems.join('\n')).toContain(problem);
});

test('udp and transwarp listeners are UDP', () => {
  const { listeners } = routerListeners('listeners:\n  - address: udp:0.0.0.0:5000\n  - address: transwarp:0.0.0.0:6000\n', {});
  expect(listeners.map((l) => `${l.protocol} ${l.port}`)).toEqual(['udp 5000', 'udp 6000']);
});
