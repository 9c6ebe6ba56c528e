/**
 * The light entry of the contract (`@bpfsteer/contract-connect/kinds`): the kind's name, its limits
 * and the field readers, without zod (a plugin's worker thread imports this; the schema in the main
 * entry is loaded where something is validated).
 */
export const CONNECT_REDIRECT_KIND = 'connect.redirect';

/** Port ranges one rule may list. */
export const MAX_RULE_PORT_RANGES = 8;

export { readConnectDestination, readPortRange, type PortRange } from './connect-fields.js';
