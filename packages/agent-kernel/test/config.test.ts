import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { SourceFactory } from '../src/contracts.js';
import { ConfigError } from '../src/errors.js';
import { formatConfigPath, formatValue, issuesFromZod } from '../src/config-issue.js';
import { loadAgentConfig } from '../src/load-agent-config.js';
import { parseAgentConfig } from '../src/parse-agent-config.js';
import { staticSource } from '../src/static-source.js';
import { fakePlugin, redirectIntent } from './fakes.js';

const journal: string[] = [];
const tcNexthop = fakePlugin('tc-nexthop', journal, {
  intents: { 'nexthop.redirect': redirectIntent },
  configSchema: z.strictObject({ interfaces: z.array(z.string()).min(1) }),
});
const base = fakePlugin('base', journal, { intents: { 'base.thing': z.looseObject({}) } });
const needsBase = fakePlugin('needs-base', journal, { dependsOn: ['base'] });
const factories = { plugins: [tcNexthop, base, needsBase], sources: [staticSource] };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected a ConfigError');
}

const yaml = (text: string) => () => loadAgentConfig(text, { ...factories, path: '/etc/bpfsteer.yaml' });

describe('formatConfigPath / formatValue', () => {
  it.each([
    [[], '(root)'],
    [['agent'], 'agent'],
    [['agent', 'timeouts', 'openMs'], 'agent.timeouts.openMs'],
    [['sources', 0, 'intents', 2, 'source'], 'sources[0].intents[2].source'],
    [['plugins', 1, 'odd key'], 'plugins[1]["odd key"]'],
  ] as const)('%j -> %s', (path, text) => {
    expect(formatConfigPath(path)).toBe(text);
  });

  it('renders values short', () => {
    expect(formatValue('x')).toBe('"x"');
    expect(formatValue(undefined)).toBe('nothing');
    expect(formatValue('a'.repeat(100))).toHaveLength(60);
  });
});

describe('issuesFromZod', () => {
  const schema = z.strictObject({ n: z.number(), level: z.enum(['info', 'debug']), ip: z.ipv4() });
  const issues = (input: unknown) => {
    const r = schema.safeParse(input, { reportInput: true });
    return issuesFromZod(r.error!, { input, schema, prefix: ['x'] }).map((i) => `${formatConfigPath(i.path)}: ${i.message}`);
  };
  it('names missing fields, wrong types, options, unknown fields and bad formats', () => {
    expect(issues({ n: '10s', level: 'loud', ip: '1.2.3.400', extra: 1 })).toEqual([
      'x.n: expected number, got "10s"',
      'x.level: "loud" is not accepted; accepted: "info", "debug"',
      'x.ip: Invalid IPv4 address (got "1.2.3.400")',
      'x.extra: unknown field; accepted: n, level, ip',
    ]);
    expect(issues({ level: 'info', ip: '1.2.3.4' })).toEqual(['x.n: missing; expected number']);
  });
});

describe('loadAgentConfig', () => {
  it('applies the defaults of the agent section', () => {
    const config = loadAgentConfig('plugins: []\n', factories);
    expect(config.agent).toEqual({
      pinRoot: '/sys/fs/bpf/bpfsteer',
      adminSocket: '/run/bpfsteer/agent.sock',
      logLevel: 'info',
      isolation: 'thread',
      timeouts: { openMs: 10000, applyMs: 60000, closeMs: 10000 },
    });
    expect(config.plugins).toEqual([]);
    expect(config.sources).toEqual([]);
  });

  it('resolves plugins and sources to their factories and validates their entries', () => {
    const config = loadAgentConfig(
      [
        'agent: { pinRoot: /sys/fs/bpf/test, adminSocket: false, timeouts: { openMs: 500 } }',
        'plugins:',
        '  - id: tc-nexthop',
        '    interfaces: [eth0]',
        'sources:',
        '  - type: static',
        '    intents:',
        '      - { kind: nexthop.redirect, source: 10.0.0.0/24, via: 10.0.0.1 }',
      ].join('\n'),
      { ...factories, path: '/x.yaml' },
    );
    expect(config.agent.timeouts).toEqual({ openMs: 500, applyMs: 60000, closeMs: 10000 });
    expect(config.agent.adminSocket).toBe(false);
    expect(config.plugins.map((p) => [p.id, p.factory, p.config])).toEqual([['tc-nexthop', tcNexthop, { interfaces: ['eth0'] }]]);
    expect(config.sources.map((s) => [s.name, s.factory])).toEqual([['static#0', staticSource]]);
    expect([...config.intentSchemas.keys()]).toEqual(['nexthop.redirect']);
    expect(config.path).toBe('/x.yaml');
  });

  it('names an unknown plugin and lists the known ones', () => {
    expect(problems(yaml('plugins:\n  - id: tc-nexthpo\n'))).toEqual([
      'plugins[0].id: unknown plugin "tc-nexthpo"; known: tc-nexthop, base, needs-base',
    ]);
  });

  it('names an unknown source type', () => {
    expect(problems(yaml('sources:\n  - type: kubernetes\n'))).toEqual([
      'sources[0].type: unknown source type "kubernetes"; known: static',
    ]);
  });

  it('validates intent fields against the consuming plugin schema, with the path and the value', () => {
    const text = [
      'plugins: [{ id: tc-nexthop, interfaces: [eth0] }]',
      'sources:',
      '  - type: static',
      '    intents:',
      '      - { kind: nexthop.redirect, source: 10.0.0.0/24, via: 10.0.0.1 }',
      '      - { kind: nexthop.redirect, source: 10.0.1.0/24, via: 10.0.0.1 }',
      '      - { kind: nexthop.redirect, source: 10.0.0.300/24, via: 10.0.0.1 }',
    ].join('\n');
    expect(problems(yaml(text))).toEqual(['sources[0].intents[2].source: "10.0.0.300/24" is not a valid CIDR']);
  });

  it('rejects an intent kind no configured plugin consumes', () => {
    const text = [
      'plugins: [{ id: tc-nexthop, interfaces: [eth0] }]',
      'sources: [{ type: static, intents: [{ kind: nexthop.redirekt, source: 10.0.0.0/24 }] }]',
    ].join('\n');
    expect(problems(yaml(text))).toEqual([
      'sources[0].intents[0].kind: no configured plugin consumes intent kind "nexthop.redirekt"; consumed kinds: nexthop.redirect',
    ]);
  });

  it('checks plugin dependencies', () => {
    expect(problems(yaml('plugins: [{ id: needs-base }]\n'))).toEqual([
      'plugins[0].id: plugin "needs-base" depends on "base", which is not configured; configured: needs-base',
    ]);
    const ok = loadAgentConfig('plugins: [{ id: needs-base }, { id: base }]\n', factories);
    expect(ok.plugins.map((p) => p.id)).toEqual(['base', 'needs-base']);
  });

  it('checks what plugins need from each other, by token: one provider, or refused (optional needs aside)', () => {
    const BYPASS_MAP = Symbol.for('bpfsteer.test.BypassMap');
    const need = { [BYPASS_MAP]: { description: "the proxy's bypass map" } };
    const provides = { [BYPASS_MAP]: () => '/pin' };
    const user = fakePlugin('user', journal, { needs: need });
    const optionalUser = fakePlugin('optional-user', journal, { needs: { [BYPASS_MAP]: { ...need[BYPASS_MAP], optional: true } } });
    const p1 = fakePlugin('p1', journal, { provides });
    const p2 = fakePlugin('p2', journal, { provides });
    const f = { plugins: [user, optionalUser, p1, p2], sources: [staticSource] };
    const load = (text: string) => () => loadAgentConfig(text, f);
    expect(problems(load('plugins: [{ id: user }]\n'))).toEqual([
      `plugins[0].id: plugin "user" needs "bpfsteer.test.BypassMap" (the proxy's bypass map), which no configured plugin provides; add "p1" or "p2"`,
    ]);
    expect(problems(load('plugins: [{ id: user }, { id: p1 }, { id: p2 }]\n'))).toEqual([
      'plugins[0].id: plugin "user" needs "bpfsteer.test.BypassMap", which "p1" and "p2" all provide; configure only one of them',
    ]);
    const ok = loadAgentConfig('plugins: [{ id: user }, { id: p2 }]\n', f);
    expect(ok.plugins.map((p) => [p.id, [...p.providers]])).toEqual([['p2', []], ['user', [[BYPASS_MAP, 'p2']]]]);
    expect(loadAgentConfig('plugins: [{ id: optional-user }]\n', f).plugins[0]!.providers.size).toBe(0);
  });

  it('refuses a plugin that names what it needs or provides by a string or an unregistered symbol', () => {
    const byString = fakePlugin('by-string', journal, { needs: { 'mesh.bypass-map': { description: 'x' } } as never });
    const local = fakePlugin('local', journal, { provides: { [Symbol('not-registered')]: () => 1 } });
    const f = { plugins: [byString, local], sources: [staticSource] };
    expect(problems(() => loadAgentConfig('plugins: [{ id: by-string }, { id: local }]\n', f))).toEqual([
      `plugins[0].id: plugin "by-string" names what it needs "mesh.bypass-map" by a string; name it by a Symbol.for('bpfsteer.<scope>.<Name>') token of the contract package that owns it`,
      'plugins[1].id: plugin "local" names what it provides Symbol(not-registered) by a symbol not made with Symbol.for(...), which its thread could not find again',
    ]);
  });

  it('rejects a plugin configured twice', () => {
    expect(problems(yaml('plugins: [{ id: base }, { id: base }]\n'))).toEqual([
      'plugins[1].id: plugin "base" is configured twice (first at plugins[0]); each plugin runs once',
    ]);
  });

  it('reports every problem of the file at once, including plugin fields and agent typos', () => {
    const text = [
      'agent: { pinroot: /x, logLevel: loud, timeouts: { openMs: "10s" } }',
      'plugins: [{ id: tc-nexthop, interfaces: [], mtu: 9000 }]',
      'extra: 1',
    ].join('\n');
    expect(problems(yaml(text))).toEqual([
      'agent.logLevel: "loud" is not accepted; accepted: "fatal", "error", "warn", "info", "debug", "trace", "silent"',
      'agent.timeouts.openMs: expected number, got "10s"',
      'agent.pinroot: unknown field; accepted: pinRoot, adminSocket, logLevel, metrics, isolation, timeouts',
      'extra: unknown field; accepted: agent, plugins, sources',
      'plugins[0].interfaces: Too small: expected array to have >=1 items',
      'plugins[0].mtu: unknown field; accepted: interfaces',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const [line] = problems(yaml('plugins:\n  - id: [unclosed\n'));
    expect(line).toMatch(/^invalid YAML: line \d+, column \d+: /);
    expect(problems(yaml('agent: {}\nagent: {}\n'))[0]).toMatch(/invalid YAML: line 2, column 1: .*[Uu]nique/);
  });

  it('puts the file name in the error header', () => {
    expect(() => yaml('plugins: 3')()).toThrow(/^invalid config \/etc\/bpfsteer.yaml:\n {2}plugins: expected array, got 3/);
  });

  it('accepts a plain object in code', () => {
    const config = parseAgentConfig({ agent: { logLevel: 'debug' }, plugins: [{ id: 'base' }] }, factories);
    expect(config.agent.logLevel).toBe('debug');
  });
});

describe('local path claims', () => {
  // a source with an API socket and a state file, like the ziti source
  const apiSource: SourceFactory<{ socket: string; stateFile: string }> = {
    type: 'api',
    description: 'a source with a socket and a state file',
    configSchema: z.strictObject({ socket: z.string(), stateFile: z.string().default('/var/lib/api/state.json') }),
    claims: (c) => [
      { path: c.socket, what: 'API socket', field: ['socket'] },
      { path: c.stateFile, what: 'state file', field: ['stateFile'] },
    ],
    create: () => {
      throw new Error('not started in these tests');
    },
  };
  const withApi = { plugins: [], sources: [staticSource, apiSource] };

  it("refuses a source socket at the agent's admin socket path, naming both owners", () => {
    const err = (() => {
      try {
        return parseAgentConfig(
          { agent: { adminSocket: '/run/bpfsteer/agent.sock' }, sources: [{ type: 'api', socket: '/run/bpfsteer/agent.sock' }] },
          { ...withApi, path: '/etc/agent.yaml' },
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      {
        path: ['sources', 0, 'socket'],
        message:
          "/run/bpfsteer/agent.sock is claimed by both the agent's admin socket (agent.adminSocket) and the API socket of source api#0; give each its own path",
      },
    ]);
  });

  it('compares resolved paths and finds clashes between and within sources', () => {
    const lines = problems(() =>
      parseAgentConfig(
        {
          agent: { adminSocket: false },
          sources: [
            { type: 'api', socket: '/run/a.sock' },
            { type: 'api', socket: '/run/./x/../a.sock', stateFile: '/var/lib/b.json' },
            { type: 'api', socket: '/var/lib/b.json', stateFile: '/var/lib/b.json' },
          ],
        },
        withApi,
      ),
    );
    expect(lines).toEqual([
      'sources[1].socket: /run/a.sock is claimed by both the API socket of source api#0 (sources[0].socket) and the API socket of source api#1; give each its own path',
      'sources[2].socket: /var/lib/b.json is claimed by both the state file of source api#1 (sources[1].stateFile) and the API socket of source api#2; give each its own path',
      'sources[2].stateFile: /var/lib/b.json is claimed by both the state file of source api#1 (sources[1].stateFile) and the state file of source api#2; give each its own path',
    ]);
  });

  it('accepts distinct paths and a disabled admin socket', () => {
    const config = parseAgentConfig(
      { agent: { adminSocket: false }, sources: [{ type: 'api', socket: '/run/bpfsteer/agent.sock' }, { type: 'api', socket: '/run/b.sock', stateFile: '/b' }] },
      withApi,
    );
    expect(config.sources).toHaveLength(2);
  });
});
