// Child process of attach-tc.kernel.test.ts: re-adopts the tc attachment pinned at argv[2] with the
// program tc_count_alt and reports what it got. Usage: readopt-tc.ts PIN NETNS MODE
import { attachTc } from '../../../src/attach-tc.js';
import { loadCoreLinks } from '../load-fixture.js';

const [pinPath, netns, mode] = process.argv.slice(2);
const fx = loadCoreLinks();
try {
  const link = attachTc(fx.program('tc_count_alt'), {
    ifname: 'a0',
    direction: 'ingress',
    netns,
    mode: mode as 'tcx' | 'netlink',
    pinPath,
  });
  process.stdout.write(`${JSON.stringify({ type: link.type, pinnedPath: link.pinnedPath, target: link.target })}\n`);
  link.close();
} finally {
  fx.close();
}
