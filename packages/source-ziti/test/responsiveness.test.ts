/**
 * Issue 9 item 3: the ziti source never stalls the agent. A large batch is read, checked, applied,
 * turned into intents and journalled in slices, so the API (and whatever else shares the thread)
 * answers meanwhile. These tests count answers, never time: speed is measured in bench/.
 */
import { afterEach, expect, test } from 'vitest';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { createApi } from '../src/api/create-api.js';
import { checkBatch, checkBatchInSlices } from '../src/api/fast-validation.js';
import { intentChange } from '../src/intent-changes.js';
import { applyBatchInSlices, emptyState, type ZitiState } from '../src/rule-store.js';
import { journalText, parseState, replayJournal, serialiseState } from '../src/state-text.js';
import { ZitiService } from '../src/ziti-service.js';
import { fakeKernel, harness, ok, quietLogger, type Harness } from './fake-kernel.js';
import { ruleListSchema } from '../src/api/schemas.js';
import { listedRuleView } from '../src/api/rule-view.js';
import { ruleToIntent } from '../src/to-intents.js';

const RULES = 20_000;

const eager0 = (): TimeSlicer => new TimeSlicer(0);

const batchBody = (n: number): string =>
  JSON.stringify({
    operations: Array.from({ length: n }, (_, i) => ({
      op: 'insert',
      rule: { destination: `10.${(i >> 8) & 255}.${i & 255}.0/24`, protocol: 'tcp', ports: { low: 443 }, tproxyPort: 15000, service: `svc-${i}` },
    })),
  });

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Asks GET /v1/health again and again until `until` settles; returns how many were answered before `mark()`. */
function pollHealth(app: Harness['app'], until: Promise<unknown>): { mark: () => void; answeredBeforeMark: () => number } {
  let done = false;
  let answered = 0;
  let atMark = -1;
  void until.finally(() => (done = true));
  void (async () => {
    while (!done) {
      const res = await app.inject({ method: 'GET', url: '/v1/health' });
      if (res.statusCode === 200 || res.statusCode === 503) answered++;
      await nextTurn(); // like a client on a socket: one request per turn of the event loop
    }
  })();
  return { mark: () => (atMark = atMark < 0 ? answered : atMark), answeredBeforeMark: () => atMark };
}

test(`health answers while a batch of ${RULES} rules is read, checked and applied, before it is committed`, async () => {
  h = await harness();
  h.kernel.running.add('tproxy.rule');
  const body = batchBody(RULES);
  let poll: ReturnType<typeof pollHealth> | undefined;
  h.kernel.commit.mockImplementationOnce(async () => {
    poll!.mark(); // everything the source does before it hands the change to the agent is done
    return ok;
  });
  const batch = h.app.inject({ method: 'POST', url: '/v1/rules/batch', headers: { 'content-type': 'application/json' }, payload: body });
  poll = pollHealth(h.app, batch);
  const res = await batch;
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({ operations: RULES, created: RULES });
  // in one piece (before), none came between the end of the body and the commit. How many come
  // depends on the machine's speed (a slice is 8 ms): 10 on one CI machine, more on slower ones
  expect(poll.answeredBeforeMark()).toBeGreaterThan(2);
});

test(`each step over the ${RULES} rules of a batch yields to the event loop`, async () => {
  const eager = (): TimeSlicer => new TimeSlicer(0); // every pause yields: counts the pause points
  const body = JSON.parse(batchBody(RULES)) as unknown;
  const steps: [string, TimeSlicer][] = [];
  const step = (name: string): TimeSlicer => {
    const slicer = eager();
    steps.push([name, slicer]);
    return slicer;
  };
  const operations = (await checkBatchInSlices(body, step('check')))!;
  const applied = await applyBatchInSlices(emptyState, operations, step('store'));
  if (!applied.ok) throw new Error('the batch was refused');
  const state = applied.state;
  const { next } = await intentChange(undefined, state, step('intents of a reset'));
  const grown = await applyBatchInSlices(state, operations.map((o) => ({ ...o, rule: { ...(o as { rule: object }).rule, tproxyPort: 16000 } })) as typeof operations, eager());
  if (!grown.ok) throw new Error('the batch was refused');
  await intentChange(next, grown.state, step('intents of a change'));
  const record = (await journalText(emptyState, state, step('journal record')))!.pieces.join('');
  const snapshot = await serialiseState(state, step('snapshot'));
  await parseState(snapshot, 'rules.json', step('snapshot read'));
  await replayJournal(emptyState, record, 'rules.json.journal', step('journal replay'));
  for (const [name, slicer] of steps) expect({ name, yields: slicer.yields > 10 }).toEqual({ name, yields: true });
});

test(`health answers while ${RULES} rules are listed with their counters; the list is what the schema's serializer makes`, async () => {
  const operations = checkBatchInSlices(JSON.parse(batchBody(RULES)), eager0());
  const applied = await applyBatchInSlices(emptyState, (await operations)!, eager0());
  if (!applied.ok) throw new Error('the batch was refused');
  h = await harness({ initial: applied.state });
  h.kernel.running.add('tproxy.rule');
  // what plugin-tc-tproxy's describe answers (the agent hands it over from the plugin's thread)
  const described = [...applied.state.rules.values()].map((rule, i) => ({ intent: ruleToIntent(rule), id: i + 1, packets: i, bytes: 100 * i }));
  h.kernel.described.set('tproxy.rule', { capacity: 131_072, rules: described });
  const list = h.app.inject({ method: 'GET', url: '/v1/rules' });
  const poll = pollHealth(h.app, list);
  const res = await list;
  poll.mark();
  // in one piece (before), the join, the check of the counters and the serialisation let none through
  // (how many come through depends on the machine's speed, as above)
  expect(poll.answeredBeforeMark()).toBeGreaterThan(2);
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
  const listed = await h.service.listRules();
  expect(listed).toMatchObject({ capacity: 131_072, total: RULES, count: RULES, counters: true });
  expect(listed.rules.every((r) => r.id !== null && r.packets !== null)).toBe(true);
  // byte for byte what zod's serializer made of the same list (checked by the schema, then JSON.stringify)
  expect(res.payload).toBe(JSON.stringify(ruleListSchema.parse({ ...listed, rules: listed.rules.map(listedRuleView) })));
});

test('health answers "loading" while the saved rules are read; changes wait for them, then apply on top', async () => {
  const kernel = fakeKernel();
  kernel.running.add('tproxy.rule');
  const service = new ZitiService({ sink: kernel, context: kernel.context, logger: quietLogger, initial: emptyState });
  let release: (state: ZitiState) => void = () => undefined;
  const saved = new Promise<ZitiState>((resolve) => (release = resolve));
  const loaded = service.load(() => saved);
  const app = await createApi({ service });
  h = { kernel, service, persisted: [], app };
  const health = await app.inject({ method: 'GET', url: '/v1/health' });
  expect(health.statusCode).toBe(503);
  expect(health.json()).toMatchObject({ ok: false, loading: true, applied: false });
  const insert = app.inject({ method: 'POST', url: '/v1/rules', payload: { destination: '10.9.0.0/24', protocol: 'tcp', ports: { low: 80 }, tproxyPort: 15000 } });
  const list = app.inject({ method: 'GET', url: '/v1/rules' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(kernel.commits).toHaveLength(0); // the insert waits for the saved rules
  const savedRule = (await applyBatchInSlices(emptyState, checkBatch({ operations: [{ op: 'insert', rule: { destination: '10.1.0.0/24', protocol: 'tcp', ports: { low: 443 }, tproxyPort: 15000 } }] })!, eager0()));
  if (!savedRule.ok) throw new Error('refused');
  release(savedRule.state);
  expect((await loaded).ok).toBe(true);
  expect((await insert).json()).toMatchObject({ outcome: 'created' });
  expect((await list).json().total).toBeGreaterThanOrEqual(1); // the list waited for the saved rules (never the empty store)
  expect(kernel.commits.map((c) => c.map((i) => (i as unknown as { destination: string }).destination))).toEqual([['10.1.0.0/24'], ['10.1.0.0/24', '10.9.0.0/24']]);
  expect((await app.inject({ method: 'GET', url: '/v1/health' })).json()).toMatchObject({ ok: true, loading: false, applied: true, rules: 2 });
});

test('when the saved rules cannot be read, a change waiting for them is refused and nothing is committed', async () => {
  const kernel = fakeKernel();
  kernel.running.add('tproxy.rule');
  const service = new ZitiService({ sink: kernel, context: kernel.context, logger: quietLogger, initial: emptyState });
  let fail: (err: Error) => void = () => undefined;
  const loaded = service.load(() => new Promise<ZitiState>((_resolve, reject) => (fail = reject)));
  const app = await createApi({ service });
  h = { kernel, service, persisted: [], app };
  const insert = app.inject({ method: 'POST', url: '/v1/rules', payload: { destination: '10.9.0.0/24', protocol: 'tcp', ports: { low: 80 }, tproxyPort: 15000 } });
  fail(new Error('state file rules.json is not JSON'));
  await expect(loaded).rejects.toThrow('not JSON');
  const res = await insert;
  expect(res.statusCode).toBe(503);
  expect(res.json().error.message).toContain('the saved rules could not be read');
  expect(kernel.commits).toHaveLength(0);
});

test('a large body gets the answers a small one gets: poisoning key, malformed JSON, over the limit', async () => {
  h = await harness();
  const post = (payload: string) => h!.app.inject({ method: 'POST', url: '/v1/rules/batch', headers: { 'content-type': 'application/json' }, payload });
  const large = batchBody(3000); // over SLICE_PARSE_MIN: read in chunks, parsed in slices
  const small = batchBody(2);
  const poisoned = (body: string) => body.replace('"service":"svc-1"', '"service":"svc-1","__proto__":{"polluted":true}');
  const malformed = (body: string) => body.replace(']}', ',]}');
  for (const change of [poisoned, malformed]) {
    const [a, b] = [await post(change(large)), await post(change(small))];
    expect(a.statusCode).toBe(400);
    expect(a.json()).toEqual(b.json());
  }
  expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  expect(h.kernel.commits).toHaveLength(0);
  await h.app.close();
  h = await harness({ bodyLimit: 200_000 });
  const res = await post(large);
  expect(res.statusCode).toBe(413);
  expect(res.json().error.code).toBe('ERR_BODY_TOO_LARGE');
  const ok = await post(small);
  expect(ok.statusCode).toBe(200);
});

test('a large batch is checked while it is parsed; one it refuses anywhere gets the answer a small one gets', async () => {
  h = await harness();
  const post = (payload: string) => h!.app.inject({ method: 'POST', url: '/v1/rules/batch', headers: { 'content-type': 'application/json' }, payload });
  const large = batchBody(3000); // over SLICE_PARSE_MIN: parsed in groups, each checked as it comes
  const small = batchBody(2);
  const ok = await post(large);
  expect(ok.statusCode).toBe(200);
  expect(ok.json()).toMatchObject({ created: 3000 });
  expect(h.kernel.commits.at(-1)).toHaveLength(3000);
  const lastRule = (body: string, edit: (s: string) => string) => {
    const at = body.lastIndexOf('{"op"');
    return body.slice(0, at) + edit(body.slice(at));
  };
  const refusals: [string, (body: string) => string][] = [
    ['a bad destination in the last operation', (b) => lastRule(b, (s) => s.replace(/"destination":"[^"]+"/, '"destination":"10.0.0.300/24"'))],
    ['an unknown op in the last operation', (b) => lastRule(b, (s) => s.replace('"op":"insert"', '"op":"upsert"'))],
    ['a member besides the operations', (b) => b.replace(/}$/, ',"dryRun":true}')],
    ['operations that are not objects', (b) => lastRule(b, () => '1]}')],
  ];
  for (const [what, edit] of refusals) {
    const [a, b] = [await post(edit(large)), await post(edit(small))];
    expect(a.statusCode, what).toBe(400);
    const message = (res: typeof a) => (res.json().error.message as string).replace(/operations\.\d+/g, 'operations.N');
    expect(message(a), what).toBe(message(b));
  }
  expect(h.kernel.commits).toHaveLength(1);
});
