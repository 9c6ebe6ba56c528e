/**
 * Which configured plugin provides what another one needs (`PluginFactory.needs` / `provides`):
 * the problems (a need nobody configured provides, two providers of one need) and, per plugin,
 * the provider of each need. Pure.
 */
import type { ConfigIssue, PluginNeed } from './contracts.js';

/** What of a plugin factory this looks at. */
interface NeedsAndProvides {
  readonly id: string;
  readonly provides?: Readonly<Record<string, unknown>>;
  readonly needs?: Readonly<Record<string, PluginNeed>>;
}

interface Configured {
  readonly id: string;
  readonly factory: NeedsAndProvides;
  readonly index: number;
}

export interface ResolvedNeeds {
  /** by plugin id: need name -> the id of the plugin providing it */
  readonly providers: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly issues: readonly ConfigIssue[];
}

export function resolveNeeds(configured: Iterable<Configured>, known: ReadonlyMap<string, NeedsAndProvides>): ResolvedNeeds {
  const plugins = [...configured];
  const providers = new Map<string, Map<string, string>>();
  const issues: ConfigIssue[] = [];
  for (const p of plugins) {
    const mine = new Map<string, string>();
    for (const [name, need] of Object.entries(p.factory.needs ?? {})) {
      const offering = plugins.filter((o) => o !== p && o.factory.provides?.[name] !== undefined);
      if (offering.length > 1) {
        issues.push({
          path: ['plugins', p.index, 'id'],
          message: `plugin "${p.id}" needs "${name}", which ${offering.map((o) => `"${o.id}"`).join(' and ')} all provide; configure only one of them`,
        });
      } else if (offering.length === 1) {
        mine.set(name, offering[0].id);
      } else if (!need.optional) {
        const could = [...known.values()].filter((f) => f.provides?.[name] !== undefined).map((f) => `"${f.id}"`);
        issues.push({
          path: ['plugins', p.index, 'id'],
          message:
            `plugin "${p.id}" needs "${name}" (${need.description}), which no configured plugin provides` +
            (could.length > 0 ? `; add ${could.join(' or ')}` : ''),
        });
      }
    }
    if (mine.size > 0) providers.set(p.id, mine);
  }
  return { providers, issues };
}
