/**
 * Many implementations of one contribution point (plugin factories, source factories) collected
 * through a small provider instead of `@multiInject`, so an empty point is fine and lookup is lazy.
 */
import type { Bind, ResolutionContext } from 'inversify';
import { Tokens } from './tokens.js';

export interface ContributionProvider<T> {
  /** every binding of the contribution point, in binding order */
  getContributions(): readonly T[];
}

class ContainerContributionProvider<T> implements ContributionProvider<T> {
  #cached?: readonly T[];
  constructor(
    private readonly context: ResolutionContext,
    private readonly point: symbol,
  ) {}

  getContributions(): readonly T[] {
    this.#cached ??= this.context.getAll<T>(this.point, { optional: true });
    return this.#cached;
  }
}

/**
 * Binds `ContributionProvider` named `point`; inject it with
 * `@inject(Tokens.ContributionProvider) @named(point)`.
 */
export function bindContributionProvider(bind: Bind, point: symbol): void {
  bind(Tokens.ContributionProvider)
    .toDynamicValue((context) => new ContainerContributionProvider(context, point))
    .inSingletonScope()
    .whenNamed(point);
}
