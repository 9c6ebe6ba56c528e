export { NEXTHOP_REDIRECT_KIND } from './kinds.js';
export {
  interfaceNameSchema,
  nexthopRedirectIntentSchema,
  type NexthopRedirectFields,
  type NexthopRedirectIntent,
} from './nexthop-redirect-intent.js';
export { interfaceNameProblem, readRedirectNexthop, readRedirectSource } from './redirect-fields.js';
