/**
 * A tc tproxy dataplane from options as a program gives them: the config fields checked and
 * completed by tcTproxyConfigSchema first (the plugin's thread has a parsed config and uses
 * TproxyDataplane.fromConfig, without loading the schema).
 */
import { InvalidArgumentError, startDataplane } from '@bpfsteer/core-bpf';
import { describeIssues } from './contract-schemas.js';
import { tcTproxyConfigSchema } from './tproxy-config.js';
import { TproxyDataplane, type TproxyDataplaneOptions } from './tproxy-dataplane.js';

/** Checks the options and that the object and netns exist; nothing touches the kernel yet. */
export function openTproxyDataplane(options: TproxyDataplaneOptions): TproxyDataplane {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('tc-tproxy: options must be an object { interfaces, netns?, maxRules?, conntrack?, pinRoot?, objectPath? }');
  }
  const { pinRoot, objectPath, addressRefreshMs, onError, ...configInput } = options;
  const parsed = tcTproxyConfigSchema.safeParse(configInput);
  if (!parsed.success) throw new InvalidArgumentError(`tc-tproxy: ${describeIssues(parsed.error)}`);
  return TproxyDataplane.fromConfig(parsed.data, {
    ...(pinRoot !== undefined && { pinRoot }),
    ...(objectPath !== undefined && { objectPath }),
    ...(addressRefreshMs !== undefined && { addressRefreshMs }),
    ...(onError !== undefined && { onError }),
  });
}

/** openTproxyDataplane + load + seed + attach. */
export function startTproxyDataplane(options: TproxyDataplaneOptions): TproxyDataplane {
  return startDataplane(openTproxyDataplane(options), (dp) => {
    dp.load();
    dp.seed();
    dp.attach();
  });
}
