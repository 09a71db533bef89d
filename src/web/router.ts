import type { RouterOptions } from 'express';

/**
 * Every router of the portal matches paths exactly: `/reseller/users/4/eDIT` or `.../edit/` is not
 * `/reseller/users/4/edit`. Guards that look at the path (readOnlyGuard's forms for writing) then
 * see the same path the route does. Pass to every Router() (the route matrix tries variants).
 */
export const ROUTER_OPTIONS: RouterOptions = { caseSensitive: true, strict: true };
