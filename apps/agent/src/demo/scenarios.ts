/** The scenarios of `bpfsteer demo`, in the order they run: one per plugin. */
import { ambientScenario } from './ambient-scenario.js';
import { connectScenario } from './connect-scenario.js';
import { nexthopScenario } from './nexthop-scenario.js';
import type { DemoScenario } from './scenario.js';
import { tproxyScenario } from './tproxy-scenario.js';

export const demoScenarios: readonly DemoScenario[] = [nexthopScenario, tproxyScenario, ambientScenario, connectScenario];
