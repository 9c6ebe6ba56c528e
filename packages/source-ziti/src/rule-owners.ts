/**
 * Rules that several ziti services share. An OpenZiti router calls its diverter once per service
 * address: two services intercepting the same address, ports, protocol and source each insert the
 * same rule identity with their own tproxy port (each service has its own listener), and remove it
 * with a delete that names neither the service nor the port (openziti/ziti
 * tunnel/intercept/tproxy/tproxy_linux.go: `-D` carries no `-s`, no `-t`). So a rule keeps each
 * service's wish (Rule.owners, the latest last) and the rule in force is the latest one's; a
 * delete removes the wishes whose listener is gone, which is how the router removes a service: it
 * closes the service's listeners first, then deletes its addresses (tproxy_linux.go's Stop). The
 * native client sends the ports listening where the router runs with each delete. A delete that
 * names the service (`-s`) removes that wish; one that can tell nothing (every listener is there,
 * or no ports were sent) removes the rule, as a delete always did.
 *
 * Pure functions over immutable rules.
 */
import type { ListeningPorts, Rule, RuleIdentity, RuleOwner, RuleSelector } from './rule.js';

/** The delete that removes `service`'s wish for `rule` (and no other service's). */
export function wishSelector(rule: RuleIdentity, service: string): RuleSelector {
  return { destination: rule.destination, source: rule.source, protocol: rule.protocol, ports: rule.ports, service };
}

/** A wish of a rule with one owner; its service may be unknown (a rule inserted without one). */
type Wish = Omit<RuleOwner, 'service'> & { readonly service?: string };

/** The wishes of a rule: its owners, or the rule itself. */
export function wishesOf(rule: Rule): readonly Wish[] {
  if (rule.owners) return rule.owners;
  return [{ ...(rule.service !== undefined && { service: rule.service }), action: rule.action, ...(rule.tproxyPort !== undefined && { tproxyPort: rule.tproxyPort }), interfaces: rule.interfaces }];
}

function union(lists: readonly (readonly string[])[]): readonly string[] {
  if (lists.some((l) => l.length === 0)) return [];
  return [...new Set(lists.flat())].sort();
}

/** The rule of `identity` with these wishes (at least one; two or more only with a service each). */
export function ruleOf(identity: RuleIdentity, wishes: readonly Wish[]): Rule {
  const latest = wishes[wishes.length - 1];
  const base = {
    destination: identity.destination,
    source: identity.source,
    protocol: identity.protocol,
    ports: identity.ports,
    action: latest.action,
    ...(latest.tproxyPort !== undefined && { tproxyPort: latest.tproxyPort }),
  };
  if (wishes.length === 1) return { ...base, interfaces: latest.interfaces, ...(latest.service !== undefined && { service: latest.service }) };
  return { ...base, interfaces: union(wishes.map((w) => w.interfaces)), service: latest.service!, owners: wishes as readonly RuleOwner[] };
}

/**
 * `rule`'s wish inserted into `existing`: the wish of the same service is updated in place (its
 * interfaces added to), a new service's is added as the latest; an insert naming no service
 * updates the latest wish (and a rule that had no service takes the one named).
 */
export function insertWish(existing: Rule, rule: Rule): Rule {
  const wishes = [...wishesOf(existing)];
  let at = rule.service === undefined ? wishes.length - 1 : wishes.findIndex((w) => w.service === rule.service);
  if (at < 0 && wishes.length === 1 && wishes[0].service === undefined) at = 0;
  if (at < 0) {
    wishes.push({ service: rule.service!, action: rule.action, ...(rule.tproxyPort !== undefined && { tproxyPort: rule.tproxyPort }), interfaces: rule.interfaces });
  } else {
    const old = wishes[at];
    const service = rule.service ?? old.service;
    wishes[at] = {
      ...(service !== undefined && { service }),
      action: rule.action,
      ...(rule.tproxyPort !== undefined && { tproxyPort: rule.tproxyPort }),
      interfaces: rule.interfaces.length ? [...new Set([...old.interfaces, ...rule.interfaces])].sort() : old.interfaces,
    };
  }
  return ruleOf(existing, wishes);
}

/** Whether `wish` diverts to a port nothing listens on any more. */
function listenerGone(wish: Wish, protocol: Rule['protocol'], listening: ListeningPorts): boolean {
  return wish.action === 'divert' && !listening[protocol].includes(wish.tproxyPort!);
}

/** What a delete did to one rule: gone, changed, or nothing matched (no such service, not bound to the interfaces). */
export type WishRemoval = { readonly kind: 'removed' } | { readonly kind: 'narrowed'; readonly rule: Rule } | { readonly kind: 'untouched'; readonly why: 'service' | 'interfaces' };

/** The delete of `selector` applied to `rule` (see the module comment). */
export function removeWishes(rule: Rule, selector: RuleSelector): WishRemoval {
  const wishes = wishesOf(rule);
  let targets: readonly Wish[] = wishes;
  if (selector.service !== undefined) {
    targets = wishes.filter((w) => w.service === selector.service);
    if (targets.length === 0) return { kind: 'untouched', why: 'service' };
  } else if (wishes.length > 1 && selector.listening) {
    const gone = wishes.filter((w) => listenerGone(w, rule.protocol, selector.listening!));
    if (gone.length > 0) targets = gone;
  }
  const named = selector.interfaces ?? [];
  const kept: Wish[] = [];
  let changed = false;
  for (const w of wishes) {
    if (!targets.includes(w)) kept.push(w);
    else if (named.length === 0) changed = true;
    else {
      const left = w.interfaces.filter((i) => !named.includes(i));
      if (left.length === w.interfaces.length) kept.push(w); // not bound to a named interface
      else {
        changed = true;
        if (left.length > 0) kept.push({ ...w, interfaces: left });
      }
    }
  }
  if (!changed) return { kind: 'untouched', why: 'interfaces' };
  return kept.length === 0 ? { kind: 'removed' } : { kind: 'narrowed', rule: ruleOf(rule, kept) };
}
