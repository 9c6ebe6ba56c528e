/**
 * The light entry of the contract (`@bpfsteer/contract-nexthop/kinds`): the kind's name and the
 * field readers, without zod (a plugin's worker thread imports this; the schema in the main entry
 * is loaded where something is validated).
 */
export const NEXTHOP_REDIRECT_KIND = 'nexthop.redirect';

export { interfaceNameProblem, readRedirectNexthop, readRedirectSource } from './redirect-fields.js';
