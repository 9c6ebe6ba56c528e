// DataplaneLifecycle's close semantics with real pins: maps pinned under <pinRoot>/maps (and one
// elsewhere, shared), sk_lookup links pinned under <pinRoot>/links in real netns.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachNetns } from '../src/attach-netns.js';
import { codecs as c } from '../src/codecs.js';
import { DataplaneLifecycle } from '../src/dataplane-lifecycle.js';
import { PinIncompatibleError } from '../src/errors.js';
import { openPinnedLink } from '../src/open-pinned-link.js';
import { defineSkeleton } from '../src/skeleton.js';
import { makePinDir, removePinDir } from './support/core-maps-fixture.js';
import { Lab } from './support/lab.js';
import { FIXTURE_DIR } from './support/load-fixture.js';

const skeleton = defineSkeleton({ programs: ['sk_lookup_steer'], maps: { counters: { key: c.u32, value: c.u64 } } });
const HINT = 'maps pinned by another size';

const lab = new Lab();
let dir: string;
let nsA: string;
let nsB: string;
let runs = 0;
beforeAll(() => {
  dir = makePinDir();
  nsA = lab.addNetns('cbtdA');
  nsB = lab.addNetns('cbtdB');
});
afterAll(() => {
  removePinDir(dir);
  lab.cleanup();
});

function lifecycle(pinRoot: string) {
  return new DataplaneLifecycle({ name: 'kit-test', objectPath: `${FIXTURE_DIR}core_links.bpf.o`, skeleton, pinRoot });
}

/** Loads with `maps` (every one pinned under pinRoot unless it says otherwise), seeded. */
function started(pinRoot: string, maps: Record<string, { pinPath?: string; shared?: boolean; maxEntries?: number }>) {
  const life = lifecycle(pinRoot);
  life.load({ maps, incompatibleHint: HINT });
  life.advance('seeded');
  return life;
}

function attachIn(life: ReturnType<typeof lifecycle>, netns: string) {
  return life.attachLink(netns, `netns-${netns}`, (pinPath) => attachNetns(life.skeleton.programs.sk_lookup_steer, { netns, ...(pinPath ? { pinPath } : {}) }));
}

/** Every file under `root`, relative, sorted. */
function tree(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

describe('DataplaneLifecycle.close with real pins', () => {
  it('a plain close detaches its links and removes its pins and directories, not a shared pin', () => {
    const pinRoot = join(dir, `dp-${++runs}`);
    const shared = join(dir, `shared-${runs}`, 'egress_marks');
    const life = started(pinRoot, { counters: {}, ingress_marks: { maxEntries: 64 }, egress_marks: { pinPath: shared, shared: true } });
    const link = attachIn(life, nsA);
    expect(link.pinnedPath).toBe(join(pinRoot, 'links', `netns-${nsA}`));
    expect(tree(pinRoot)).toEqual(['links', `links/netns-${nsA}`, 'maps', 'maps/counters', 'maps/ingress_marks']);
    expect(existsSync(shared)).toBe(true);

    life.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
    expect(existsSync(shared)).toBe(true); // its owner's
    // the attachment is gone: a new one in the same netns is not refused
    const again = lifecycle(join(dir, `dp-${++runs}`));
    again.load({ maps: {}, incompatibleHint: HINT });
    again.advance('seeded');
    expect(attachIn(again, nsA).adopted).toBe(false);
    again.close({ keepPinned: false });
  });

  it('keepPinned keeps maps and links in force; a failed restart (discardNew) removes only what it pinned itself', () => {
    const pinRoot = join(dir, `dp-${++runs}`);
    const first = started(pinRoot, { counters: {} });
    first.skeleton.maps.counters.set(3, 42n);
    attachIn(first, nsA);
    first.close({ keepPinned: true });
    const kept = tree(pinRoot);
    expect(kept).toEqual(['links', `links/netns-${nsA}`, 'maps', 'maps/counters']);

    const restart = started(pinRoot, { counters: {}, ingress_marks: {} });
    expect(restart.skeleton.maps.counters.get(3)).toBe(42n); // the pinned map was reused
    expect(attachIn(restart, nsA).adopted).toBe(true);
    expect(attachIn(restart, nsB).adopted).toBe(false);
    restart.close({ keepPinned: true, discardNew: true });
    expect(tree(pinRoot)).toEqual(kept);
    const adopted = openPinnedLink(join(pinRoot, 'links', `netns-${nsA}`));
    expect(adopted.type).toBe('sk_lookup');
    adopted.close();

    const last = started(pinRoot, { counters: {} });
    expect(attachIn(last, nsA).adopted).toBe(true);
    last.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
  });

  it('isNewMap tells the maps this load created from the ones an earlier run pinned', () => {
    const pinRoot = join(dir, `dp-${++runs}`);
    const first = started(pinRoot, { counters: {} });
    expect(first.isNewMap('counters')).toBe(true);
    expect(() => first.isNewMap('ingress_marks')).toThrow(/map ingress_marks was not loaded through load\(\)/);
    first.close({ keepPinned: true });

    const restart = started(pinRoot, { counters: {}, ingress_marks: {} });
    expect(restart.isNewMap('counters')).toBe(false); // reused from the pin
    expect(restart.isNewMap('ingress_marks')).toBe(true);
    restart.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);

    const unpinned = new DataplaneLifecycle({ name: 'kit-test', objectPath: `${FIXTURE_DIR}core_links.bpf.o`, skeleton });
    expect(() => unpinned.isNewMap('counters')).toThrow(/isNewMap is allowed only after load\(\)/);
    unpinned.load({ maps: { counters: {} }, incompatibleHint: HINT });
    expect(unpinned.isNewMap('counters')).toBe(true); // never pinned: always created
    unpinned.close({ keepPinned: false });
  });

  it('a pinned map of another size is refused with the dataplane hint; nothing is left loaded', () => {
    const pinRoot = join(dir, `dp-${++runs}`);
    const first = started(pinRoot, { ingress_marks: { maxEntries: 64 } });
    first.close({ keepPinned: true });
    const other = lifecycle(pinRoot);
    let caught: unknown;
    try {
      other.load({ maps: { ingress_marks: { maxEntries: 128 } }, incompatibleHint: HINT });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PinIncompatibleError);
    const pin = `${pinRoot}/maps/ingress_marks`;
    expect((caught as Error).message).toMatch(new RegExp(`^pinned object ${pin} is incompatible: .*\\(${HINT}; stop the old dataplane without keepPinned, or remove ${pin}\\)$`));
    expect(other.stage).toBe('opened');
    other.close({ keepPinned: false }); // never loaded: the earlier run's pins stay
    expect(tree(pinRoot)).toEqual(['maps', 'maps/ingress_marks']);
    const last = started(pinRoot, { ingress_marks: { maxEntries: 64 } });
    last.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
  });
});
