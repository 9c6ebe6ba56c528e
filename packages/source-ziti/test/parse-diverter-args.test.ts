import { describe, expect, test } from 'vitest';
import { invokedAs, parseDiverterArgs, type InvokedAs } from '../src/diverter/parse-diverter-args.js';

const parse = (argv: string[], as: InvokedAs = 'bpfsteer-diverter', env: Record<string, string> = {}) => parseDiverterArgs(argv, { invokedAs: as, env });
const request = (argv: string[], as?: InvokedAs, env?: Record<string, string>) => {
  const r = parse(argv, as, env);
  if (!r.ok) throw new Error(`unexpected usage error: ${r.error}`);
  return r.request;
};
const usage = (argv: string[], as?: InvokedAs, env?: Record<string, string>) => {
  const r = parse(argv, as, env);
  if (r.ok) throw new Error(`expected a usage error for ${argv.join(' ')}`);
  return r.error;
};

const insertArgs = '-I -c 10.0.0.16 -m 28 -p tcp -o 0.0.0.0 -n 0 -l 22 -h 22 -t 33381 -s 3jtbE2xYgcWsBgrwNKnKkY'.split(' ');
const deleteArgs = '-D -c 10.0.0.16 -m 28 -p tcp -o 0.0.0.0 -n 0 -l 22 -h 22'.split(' ');

describe('the ziti router contract (openziti.md §1)', () => {
  test('router start: -V', () => {
    expect(request(['-V'])).toEqual({ command: 'version' });
  });

  test('service added', () => {
    expect(request(insertArgs)).toEqual({
      command: 'insert',
      body: {
        destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 },
        action: 'divert', tproxyPort: 33381, service: '3jtbE2xYgcWsBgrwNKnKkY',
      },
    });
  });

  test('service added, once per interface (-N)', () => {
    expect(request([...insertArgs, '-N', 'ens33'])).toMatchObject({ command: 'insert', body: { interfaces: ['ens33'] } });
  });

  test('service removed (with and without -N)', () => {
    expect(request(deleteArgs)).toEqual({
      command: 'delete',
      body: { destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 } },
    });
    expect(request([...deleteArgs, '-N', 'lo'])).toMatchObject({ body: { interfaces: ['lo'] } });
  });

  test('allowed source CIDR, normalised', () => {
    const r = request('-I -c 10.1.2.3 -m 24 -p udp -o 192.168.7.9 -n 16 -l 53 -h 53 -t 40000 -s svc'.split(' '));
    expect(r).toMatchObject({ body: { destination: '10.1.2.0/24', source: '192.168.0.0/16', protocol: 'udp' } });
  });

  test('IPv6', () => {
    const r = request('-I -c fd00::17 -m 64 -p tcp -o :: -n 0 -l 443 -h 443 -t 1234 -s s'.split(' '));
    expect(r).toMatchObject({ body: { destination: 'fd00::/64', source: '::/0' } });
  });

  test("IPv6 with the router's default source -o 0.0.0.0 -n 0 (any)", () => {
    const r = request('-I -c fd00::17 -m 64 -p tcp -o 0.0.0.0 -n 0 -l 443 -h 443 -t 1234 -s s'.split(' '));
    expect(r).toMatchObject({ body: { destination: 'fd00::/64', source: '::/0' } });
  });

  test("IPv6 with the router's bare allowed source (-n 32, as it sends an address without length): that one address", () => {
    const r = request('-I -c fd00::17 -m 128 -p tcp -o fd00:1::5 -n 32 -l 443 -h 443 -t 1234 -s s'.split(' '));
    expect(r).toMatchObject({ body: { source: 'fd00:1::5/128' } });
    // a /32 network given as such stays one
    expect(request('-I -c fd00::17 -m 128 -p tcp -o 2001:db8:: -n 32 -l 443 -h 443 -t 1234 -s s'.split(' '))).toMatchObject({ body: { source: '2001:db8::/32' } });
    expect(request('-D -c fd00::17 -m 128 -p tcp -o fd00:1::5 -n 32 -l 443 -h 443'.split(' '))).toMatchObject({ body: { source: 'fd00:1::5/128' } });
  });

  test('-D -s names the service whose wish goes (a rule several services share)', () => {
    expect(request([...deleteArgs, '-s', 'svc-1'])).toMatchObject({ command: 'delete', body: { service: 'svc-1' } });
  });

  test('long options', () => {
    const r = request('--insert --cidr-block 10.0.0.0 --dprefix-len 8 --protocol tcp --low-port 1 --high-port 2 --tproxy-port 3 --interface eth0 --interface lo'.split(' '));
    expect(r).toMatchObject({ command: 'insert', body: { destination: '10.0.0.0/8', ports: { low: 1, high: 2 }, tproxyPort: 3, interfaces: ['eth0', 'lo'] } });
  });

  test('-t 0 is a pass-through rule, -d a deny rule', () => {
    expect(request('-I -c 10.1.1.1 -m 32 -p tcp -l 443 -h 443 -t 0'.split(' '))).toMatchObject({ body: { action: 'pass' } });
    expect(request('-I -c 10.1.1.1 -m 32 -p tcp -l 443 -h 443 -d'.split(' '))).toMatchObject({ body: { action: 'deny' } });
  });
});

describe('older forms (openziti.md §2)', () => {
  test('map_update positional', () => {
    expect(request('172.16.240.0 24 5060 5060 58997 17'.split(' '), 'map_update')).toEqual({
      command: 'insert',
      body: { destination: '172.16.240.0/24', source: '0.0.0.0/0', protocol: 'udp', ports: { low: 5060, high: 5060 }, action: 'divert', tproxyPort: 58997 },
    });
    expect(request('10.1.1.1 32 443 443 0 6'.split(' '), 'map_update')).toMatchObject({ body: { protocol: 'tcp', action: 'pass' } });
  });

  test("positional <ip> <prefix-len> means the address's network (host bits cleared at this edge)", () => {
    expect(request('172.16.240.7 24 5060 5060 58997 17'.split(' '), 'map_update')).toMatchObject({ body: { destination: '172.16.240.0/24' } });
    expect(request('fd00::17 64 443 6'.split(' '), 'map_delete')).toMatchObject({ body: { destination: 'fd00::/64', source: '::/0' } });
  });

  test('map_delete positional deletes by low port', () => {
    expect(request('172.16.240.0 24 5060 17'.split(' '), 'map_delete')).toEqual({
      command: 'delete',
      body: { destination: '172.16.240.0/24', source: '0.0.0.0/0', protocol: 'udp', ports: { low: 5060 } },
    });
  });

  test('map_update intermediate -I and -D', () => {
    expect(request('-I -c 10.0.0.0 -m 8 -l 80 -h 90 -t 4000 -p tcp'.split(' '), 'map_update')).toMatchObject({
      command: 'insert', body: { destination: '10.0.0.0/8', ports: { low: 80, high: 90 }, tproxyPort: 4000 },
    });
    expect(request('-D -c 10.0.0.0 -m 8 -l 80 -p tcp'.split(' '), 'map_update')).toEqual({
      command: 'delete', body: { destination: '10.0.0.0/8', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 80 } },
    });
    expect(request('-D -c 10.0.0.0 -m 8 -l 80 -p tcp'.split(' '), 'map_delete')).toMatchObject({ command: 'delete' });
  });

  test.each<[string, InvokedAs, string]>([
    ['', 'map_update', 'map_update takes 6 arguments'],
    ['172.16.240.0 24 5060 5060 58997', 'map_update', 'takes 6 arguments'],
    ['172.16.240.0 24 5060 5060 58997 17 x', 'map_update', 'takes 6 arguments'],
    ['172.16.240.0 24 5060 5060 58997 1', 'map_update', 'accepted: 6 (tcp), 17 (udp)'],
    ['172.16.240.0 33 5060 5060 58997 6', 'map_update', 'prefix length 33 is larger than 32 for IPv4'],
    ['172.16.240.0 24 5061 5060 58997 6', 'map_update', 'above high port'],
    ['172.16.240.0 24 70000 70000 58997 6', 'map_update', '0..65535'],
    ['172.16.240.0 24 5060', 'map_delete', 'map_delete takes 4 arguments'],
    ['-I -c 10.0.0.0 -m 8 -l 80 -t 1 -p tcp', 'map_delete', 'map_delete needs 4 positional arguments or -D'],
    ['-I -c 10.0.0.0 -m 8 -l 80 -t 1 -p tcp -s x', 'map_update', '-s/--service-id cannot be used with map_update -I'],
    ['-L', 'map_update', 'map_update needs 6 positional arguments, -I or -D'],
    ['-I 1 2', 'map_update', 'cannot be mixed with positional arguments'],
  ])('usage error: %s (%s)', (args, as, message) => {
    expect(usage(args ? args.split(' ') : [], as)).toContain(message);
  });
});

describe('bpfsteer-diverter commands', () => {
  test.each<[string, object]>([
    ['-L', { command: 'list', filter: 'all', json: false }],
    ['-L --json', { command: 'list', filter: 'all', json: true }],
    ['-L -i', { command: 'list', filter: 'intercepts', json: false }],
    ['-L -f', { command: 'list', filter: 'passthrough', json: false }],
    ['-L -E', { command: 'list-interfaces', json: false }],
    ['-F', { command: 'flush' }],
    ['-e eth0', { command: 'set-interface', name: 'eth0', settings: { echo: true } }],
    ['-x eth0', { command: 'set-interface', name: 'eth0', settings: { ssh: false } }],
    ['-M', { command: 'monitor', json: false }],
    ['--help', { command: 'help' }],
  ])('%s', (args, expected) => {
    expect(request(args.split(' '))).toEqual(expected);
  });

  test.each<[string, string]>([
    ['', 'no command given'],
    ['-I -D', 'exclude each other'],
    ['-V -L', 'exclude each other'],
    ['-L -i -f', 'exclude each other'],
    ['-L -E -i', 'cannot be combined'],
    ['-L -c 10.0.0.0', '-c/--cidr-block cannot be used with -L'],
    ['-F -N eth0', 'cannot be used with -F'],
    ['-I -c 10.0.0.1 -p tcp -l 1', 'needs -t/--tproxy-port'],
    ['-I -c 10.0.0.1 -p tcp -l 1 -t 1 -d', 'takes no -t/--tproxy-port'],
    ['-I -p tcp -l 1 -t 1', 'needs -c/--cidr-block'],
    ['-I -c 10.0.0.1 -l 1 -t 1', 'needs -p/--protocol'],
    ['-I -c 10.0.0.1 -p tcp -t 1', 'needs -l/--low-port'],
    ['-I -c 10.0.0.1 -p icmp -l 1 -t 1', 'accepted: tcp, udp'],
    ['-I -c 10.0.0.300 -p tcp -l 1 -t 1', 'destination (-c) "10.0.0.300" is not an IP address: 300 is larger than 255'],
    ['-I -c 10.0.0.1 -m 33 -p tcp -l 1 -t 1', 'prefix length 33 is larger than 32 for IPv4'],
    ['-I -c 10.0.0.1 -m x -p tcp -l 1 -t 1', '0..32'],
    ['-I -c 10.0.0.1 -p tcp -l 1 -h 0 -t 1', 'above high port'],
    ['-I -c 10.0.0.1 -p tcp -l 65536 -t 1', '0..65535'],
    ['-I -c 10.0.0.1 -p tcp -l 1 -t 65536', '0..65535'],
    ['-I -c 10.0.0.1 -p tcp -l 1e3 -t 1', '0..65535'],
    ['-I -c 10.0.0.1 -o fd00:: -n 8 -p tcp -l 1 -t 1', 'same address family'],
    ['-I -c 10.0.0.1 -n 8 -p tcp -l 1 -t 1', '-n/--oprefix-len needs -o/--ocidr-block'],
    ['-I -c 10.0.0.1 -p tcp -l 1 -t 1 -N a/b', 'is not an interface name'],
    ['-I -c 10.0.0.1 -c 10.0.0.2 -p tcp -l 1 -t 1', 'is given 2 times'],
    ['-I -I -c 10.0.0.1 -p tcp -l 1 -t 1', 'is given 2 times'],
    ['-I -c 10.0.0.1 -p tcp -l -1 -t 1', 'ambiguous'],
    ['-Z', "Unknown option '-Z'"],
    ['-L extra', 'unexpected argument'],
    ['-e', 'argument missing'],
    ['-e a:b', 'is not an interface name'],
    ['-V --socket relative', 'must be an absolute path'],
    ['-V --socket /a --url http://h:1', 'exclude each other'],
    ['-V --url http://h:1', 'needs a bearer token'],
    ['-V --url https://h:1 --token-file /t', 'accepted: http://host:port'],
    ['-V --token-file /t', 'only used with --url'],
  ])('usage error: %s', (args, message) => {
    expect(usage(args ? args.split(' ') : [])).toContain(message);
  });
});

describe('agent address', () => {
  test('default socket, env, flag', () => {
    expect(parse(['-V'])).toMatchObject({ agent: { kind: 'socket', path: '/run/bpfsteer/ziti.sock' } });
    expect(parse(['-V'], 'bpfsteer-diverter', { BPFSTEER_ZITI_SOCKET: '/tmp/z.sock' })).toMatchObject({ agent: { path: '/tmp/z.sock' } });
    expect(parse(['-V', '--socket', '/x.sock'], 'bpfsteer-diverter', { BPFSTEER_ZITI_SOCKET: '/tmp/z.sock' })).toMatchObject({ agent: { path: '/x.sock' } });
  });
  test('url with token file or env token', () => {
    expect(parse(['-V', '--url', 'http://127.0.0.1:7070', '--token-file', '/etc/t'])).toMatchObject({
      agent: { kind: 'url', url: 'http://127.0.0.1:7070', tokenFile: '/etc/t' },
    });
    expect(parse(['-L'], 'bpfsteer-diverter', { BPFSTEER_ZITI_URL: 'http://[::1]:7070/', BPFSTEER_ZITI_TOKEN: 'secret' })).toMatchObject({
      agent: { kind: 'url', url: 'http://[::1]:7070', token: 'secret' },
    });
  });
});

test('invokedAs follows the program name', () => {
  expect(invokedAs('/usr/bin/map_update')).toBe('map_update');
  expect(invokedAs('/x/map_delete.js')).toBe('map_delete');
  expect(invokedAs('/usr/local/bin/bpfsteer-diverter')).toBe('bpfsteer-diverter');
  expect(invokedAs('/pkg/dist/diverter.js')).toBe('bpfsteer-diverter');
  expect(invokedAs(undefined)).toBe('bpfsteer-diverter');
});
