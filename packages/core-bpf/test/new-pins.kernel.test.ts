// What a load pinned fresh vs reused (BpfObject.newPins / removeNewPins): after a failed start only
// the pins and directories this load created go; the maps an earlier run pinned stay.
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachNetns } from '../src/attach-netns.js';
import { BpfObject } from '../src/bpf-object.js';
import { releaseLink } from '../src/release-link.js';
import { fixturePath, makePinDir, removePinDir } from './support/core-maps-fixture.js';
import { Lab } from './support/lab.js';
import { loadCoreLinks } from './support/load-fixture.js';

const lab = new Lab();
let dir: string;
beforeAll(() => {
  dir = makePinDir();
});
afterAll(() => {
  removePinDir(dir);
  lab.cleanup();
});

function load(maps: Record<string, { pinPath: string }>): BpfObject {
  const obj = BpfObject.open(fixturePath('core_maps'));
  obj.load({ maps: { ...maps, core_pinned: { create: false } } });
  return obj;
}

describe('BpfObject.removeNewPins', () => {
  it('removes the pins and directories this load created and keeps the reused ones', () => {
    const routes = `${dir}/kept/routes`;
    const flows = `${dir}/fresh/deeper/flows`;
    load({ core_routes: { pinPath: routes } }).close(); // an earlier run, stopped with its pins kept

    const obj = load({ core_routes: { pinPath: routes }, core_flows: { pinPath: flows } });
    expect(obj.newPins).toEqual([flows]);
    obj.close();
    obj.removeNewPins(); // allowed after close: the start failed after load
    expect(existsSync(routes)).toBe(true);
    expect(readdirSync(dir)).toEqual(['kept']);
    obj.removeNewPins(); // idempotent
    expect(obj.newPins).toEqual([]);
  });

  it('counts a pin that was missing before load as new even when its directory existed', () => {
    const routes = `${dir}/kept/routes2`;
    const obj = load({ core_routes: { pinPath: routes } });
    expect(obj.newPins).toEqual([routes]);
    obj.removeNewPins();
    obj.close();
    expect(existsSync(routes)).toBe(false);
    expect(existsSync(`${dir}/kept`)).toBe(true); // not created by this load
  });
});

describe('Link.adopted and releaseLink after a failed start', () => {
  it('keeps a link adopted from an earlier run and detaches one this run created', () => {
    using fx = loadCoreLinks();
    const prog = fx.program('sk_lookup_steer');
    const keptNs = lab.addNetns('cbtA');
    const freshNs = lab.addNetns('cbtF');
    const keptPin = lab.pinPath();
    const freshPin = lab.pinPath();

    const earlier = attachNetns(prog, { netns: keptNs, pinPath: keptPin });
    expect(earlier.adopted).toBe(false);
    earlier.close(); // the earlier run ended with its pins kept

    const adopted = attachNetns(prog, { netns: keptNs, pinPath: keptPin });
    const created = attachNetns(prog, { netns: freshNs, pinPath: freshPin });
    expect([adopted.adopted, created.adopted]).toEqual([true, false]);
    releaseLink(adopted, { keepPinned: true, discardNew: true });
    releaseLink(created, { keepPinned: true, discardNew: true });
    expect(existsSync(keptPin)).toBe(true);
    expect(existsSync(freshPin)).toBe(false);
    // the kept attachment is still there: attaching again re-adopts it
    const again = attachNetns(prog, { netns: keptNs, pinPath: keptPin });
    expect(again.adopted).toBe(true);
    again.detach();
  });
});
