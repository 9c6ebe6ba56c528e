import { describe, expect, test } from 'vitest';
import type { Rule, RuleSelector } from '../src/rule.js';
import { applyOperations, deleteRules, emptyState, flushRules, insertRule, setInterface, type ZitiState } from '../src/rule-store.js';

const rule = (patch: Partial<Rule> = {}): Rule => ({
  destination: '10.0.0.16/28',
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 22, high: 22 },
  action: 'divert',
  tproxyPort: 33381,
  interfaces: [],
  ...patch,
});

const sel = (patch: Partial<RuleSelector> = {}): RuleSelector => ({
  destination: '10.0.0.16/28',
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 22, high: 22 },
  ...patch,
});

const rules = (s: ZitiState) => [...s.rules.values()];

describe('insert', () => {
  test('creates, then is idempotent (same state object back)', () => {
    const a = insertRule(emptyState, rule());
    expect(a.outcome).toBe('created');
    const b = insertRule(a.state, rule());
    expect(b.outcome).toBe('unchanged');
    expect(b.state).toBe(a.state);
    expect(emptyState.rules.size).toBe(0);
  });

  test('an existing identity is updated (action, port; a service on a rule that had none); old state untouched', () => {
    const a = insertRule(emptyState, rule());
    const b = insertRule(a.state, rule({ tproxyPort: 4000, service: 's1' }));
    expect(b.outcome).toBe('updated');
    expect(rules(b.state)).toEqual([rule({ tproxyPort: 4000, service: 's1' })]);
    expect(rules(a.state)).toEqual([rule()]);
    const c = insertRule(b.state, rule({ action: 'pass', tproxyPort: undefined }));
    expect(rules(c.state)[0]).toMatchObject({ action: 'pass', service: 's1' }); // absent service keeps it
    expect(rules(c.state)[0].tproxyPort).toBeUndefined();
  });

  test.each<[string, string[], string[], string[]]>([
    ['naming interfaces adds them', ['eth0'], ['lo'], ['eth0', 'lo']],
    ['naming none leaves the list', ['eth0'], [], ['eth0']],
    ['no list + named: the named list', [], ['eth0'], ['eth0']],
    ['duplicates merged', ['eth0', 'lo'], ['lo'], ['eth0', 'lo']],
  ])('%s', (_n, first, second, expected) => {
    const a = insertRule(emptyState, rule({ interfaces: first }));
    const b = insertRule(a.state, rule({ interfaces: second }));
    expect(rules(b.state)[0].interfaces).toEqual(expected);
  });

  test('same low port, different high: two rules', () => {
    const a = insertRule(emptyState, rule({ ports: { low: 80, high: 80 } }));
    const b = insertRule(a.state, rule({ ports: { low: 80, high: 90 } }));
    expect(b.state.rules.size).toBe(2);
  });
});

describe('delete', () => {
  const two = insertRule(insertRule(emptyState, rule({ interfaces: ['eth0', 'lo'] })).state, rule({ ports: { low: 22, high: 30 } })).state;

  test('without interfaces removes the rule', () => {
    const r = deleteRules(two, sel());
    expect(r.ok && r.state.rules.size).toBe(1);
    expect(r.ok && r.removed.length).toBe(1);
  });

  test('with interfaces removes those; the rule goes with its last one', () => {
    const a = deleteRules(two, sel({ interfaces: ['lo'] }));
    expect(a.ok && rules(a.state).find((r) => r.ports.high === 22)?.interfaces).toEqual(['eth0']);
    expect(a.ok && a.narrowed.length).toBe(1);
    const b = a.ok ? deleteRules(a.state, sel({ interfaces: ['eth0'] })) : a;
    expect(b.ok && b.state.rules.size).toBe(1);
    expect(b.ok && b.removed.length).toBe(1);
  });

  test('without high removes every rule with that low port', () => {
    const r = deleteRules(two, sel({ ports: { low: 22 } }));
    expect(r.ok && r.state.rules.size).toBe(0);
  });

  test.each<[string, RuleSelector]>([
    ['missing identity', sel({ ports: { low: 22, high: 23 } })],
    ['other source', sel({ source: '10.0.0.0/8' })],
    ['other protocol', sel({ protocol: 'udp' })],
    ['missing low port', sel({ ports: { low: 21 } })],
    ['interface not bound', sel({ interfaces: ['eth9'] })],
    ['rule without list, interface named', sel({ ports: { low: 22, high: 30 }, interfaces: ['eth0'] })],
  ])('404 for %s, nothing changes', (_n, selector) => {
    const r = deleteRules(two, selector);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('ERR_RULE_NOT_FOUND');
    expect(two.rules.size).toBe(2);
  });
});

test('a batch is all or nothing and reports the failing index', () => {
  const r = applyOperations(emptyState, [
    { op: 'insert', rule: rule() },
    { op: 'delete', selector: sel() },
    { op: 'delete', selector: sel() },
  ]);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.index).toBe(2);
  const good = applyOperations(emptyState, [
    { op: 'insert', rule: rule() },
    { op: 'insert', rule: rule({ ports: { low: 1, high: 2 } }) },
    { op: 'delete', selector: sel() },
  ]);
  expect(good.ok && rules(good.state).map((x) => x.ports)).toEqual([{ low: 1, high: 2 }]);
  expect(emptyState.rules.size).toBe(0);
});

test('flush', () => {
  const s = insertRule(emptyState, rule()).state;
  expect(flushRules(s)).toMatchObject({ removed: 1 });
  expect(flushRules(emptyState).state).toBe(emptyState);
});

test('interface settings merge; unchanged is detected', () => {
  const a = setInterface(emptyState, 'eth0', { echo: true });
  expect(a).toMatchObject({ changed: true, settings: { echo: true } });
  const b = setInterface(a.state, 'eth0', { ssh: false, events: { drops: false } });
  expect(b.settings).toEqual({ ssh: false, echo: true, events: { drops: false } });
  const c = setInterface(b.state, 'eth0', { events: { diverts: true } });
  expect(c.settings.events).toEqual({ drops: false, diverts: true });
  expect(setInterface(c.state, 'eth0', { echo: true }).changed).toBe(false);
});

describe('a rule identity two services share (the router\'s -D names neither service nor port)', () => {
  const s1 = rule({ service: 's1', tproxyPort: 4001 });
  const s2 = rule({ service: 's2', tproxyPort: 4002 });
  const both = () => insertRule(insertRule(emptyState, s1).state, s2).state;
  const owner = (r: Rule) => ({ service: r.service, action: r.action, tproxyPort: r.tproxyPort, interfaces: r.interfaces });

  test('the second service\'s insert adds its wish; the latest is in force; inserting again changes nothing', () => {
    const state = both();
    expect(rules(state)).toEqual([{ ...s2, owners: [owner(s1), owner(s2)] }]);
    expect(insertRule(state, s1).outcome).toBe('unchanged'); // same wish, same place
    expect(insertRule(state, rule({ service: 's1', tproxyPort: 4009 })).rule).toMatchObject({ tproxyPort: 4002, owners: [{ service: 's1', tproxyPort: 4009 }, { service: 's2' }] });
  });

  test.each<[string, number[], string]>([
    ['s2 goes (its listener closed): s1 is in force again', [4001], 's1'],
    ['s1 goes (its listener closed): s2 stays in force', [4002], 's2'],
  ])('%s', (_n, tcp, left) => {
    const r = deleteRules(both(), sel({ listening: { tcp, udp: [] } }));
    expect(r.ok && r.narrowed.length).toBe(1);
    const [only] = rules((r as { state: ZitiState }).state);
    expect(only).toEqual(left === 's1' ? s1 : s2);
    expect(only.owners).toBeUndefined();
  });

  test('the last service\'s delete removes the rule, whatever listens', () => {
    const one = deleteRules(both(), sel({ listening: { tcp: [4001], udp: [] } }));
    const r = deleteRules((one as { state: ZitiState }).state, sel({ listening: { tcp: [4001], udp: [] } }));
    expect(r.ok && r.removed.length).toBe(1);
    expect((r as { state: ZitiState }).state.rules.size).toBe(0);
  });

  test('a delete naming the service removes its wish; an unknown service is refused', () => {
    const r = deleteRules(both(), sel({ service: 's2' }));
    expect(rules((r as { state: ZitiState }).state)).toEqual([s1]);
    const unknown = deleteRules(both(), sel({ service: 's9' }));
    expect(unknown).toMatchObject({ ok: false, error: { code: 'ERR_RULE_NOT_FOUND' } });
    expect(!unknown.ok && unknown.error.message).toContain('of service s9; its services: s1, s2');
  });

  test('a delete that can tell nothing removes the rule: every listener there, or no ports sent', () => {
    for (const selector of [sel({ listening: { tcp: [4001, 4002], udp: [] } }), sel()]) {
      const r = deleteRules(both(), selector);
      expect(r.ok && r.removed.length).toBe(1);
    }
  });

  test('interfaces: the rule in force applies to every owner\'s interfaces; a delete with -N narrows the gone owner\'s', () => {
    const a = insertRule(emptyState, rule({ service: 's1', tproxyPort: 4001, interfaces: ['eth0'] })).state;
    const b = insertRule(a, rule({ service: 's2', tproxyPort: 4002, interfaces: ['eth1'] })).state;
    expect(rules(b)[0].interfaces).toEqual(['eth0', 'eth1']);
    const c = deleteRules(b, sel({ interfaces: ['eth1'], listening: { tcp: [4001], udp: [] } }));
    expect(rules((c as { state: ZitiState }).state)).toEqual([rule({ service: 's1', tproxyPort: 4001, interfaces: ['eth0'] })]);
    const d = insertRule(a, rule({ service: 's2', tproxyPort: 4002 })).state; // no list: every interface
    expect(rules(d)[0].interfaces).toEqual([]);
  });

  test('a UDP rule looks at the UDP ports', () => {
    const u1 = rule({ protocol: 'udp', service: 's1', tproxyPort: 4001 });
    const u2 = rule({ protocol: 'udp', service: 's2', tproxyPort: 4002 });
    const state = insertRule(insertRule(emptyState, u1).state, u2).state;
    const r = deleteRules(state, sel({ protocol: 'udp', listening: { tcp: [4001, 4002], udp: [4002] } }));
    expect(rules((r as { state: ZitiState }).state)).toEqual([u2]);
  });
});
