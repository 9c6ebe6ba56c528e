/**
 * Which configured plugin provides what another one needs (`PluginFactory.needs` / `provides`, by
 * token): the problems (a need nobody configured provides, two providers of one need, keys that are
 * not `Symbol.for` tokens) and, per plugin, the provider of each need. Pure.
 */
import type { ConfigIssue, PluginNeed, ProvisionToken } from './contracts.js';
import { provisionKeyProblems, tokenName, tokensOf } from './provision-token.js';

/** What of a plugin factory this looks at. */
interface NeedsAndProvides {
  readonly id: string;
  readonly provides?: Readonly<Record<ProvisionToken, unknown>>;
  readonly needs?: Readonly<Record<ProvisionToken, PluginNeed>>;
}

interface Configured {
  readonly id: string;
  readonly factory: NeedsAndProvides;
  readonly index: number;
}

export interface ResolvedNeeds {
  /** by plugin id: need token -> the id of the plugin providing it */
  readonly providers: ReadonlyMap<string, ReadonlyMap<ProvisionToken, string>>;
  readonly issues: readonly ConfigIssue[];
}

const provides = (f: NeedsAndProvides, token: ProvisionToken): boolean => f.provides?.[token] !== undefined;

export function resolveNeeds(configured: Iterable<Configured>, known: ReadonlyMap<string, NeedsAndProvides>): ResolvedNeeds {
  const plugins = [...configured];
  const providers = new Map<string, Map<ProvisionToken, string>>();
  const issues: ConfigIssue[] = [];
  for (const p of plugins) {
    const path = ['plugins', p.index, 'id'];
    const keyProblems = [...provisionKeyProblems(p.factory.provides, 'provides'), ...provisionKeyProblems(p.factory.needs, 'needs')];
    issues.push(...keyProblems.map((problem) => ({ path, message: `plugin "${p.id}" names what it ${problem}` })));
    const mine = new Map<ProvisionToken, string>();
    for (const token of tokensOf(p.factory.needs)) {
      const need = p.factory.needs![token]!;
      const name = tokenName(token);
      const offering = plugins.filter((o) => o !== p && provides(o.factory, token));
      if (offering.length > 1) {
        issues.push({
          path,
          message: `plugin "${p.id}" needs "${name}", which ${offering.map((o) => `"${o.id}"`).join(' and ')} all provide; configure only one of them`,
        });
      } else if (offering.length === 1) {
        mine.set(token, offering[0]!.id);
      } else if (!need.optional) {
        const could = [...known.values()].filter((f) => provides(f, token)).map((f) => `"${f.id}"`);
        issues.push({
          path,
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
