import type { Request } from 'express';
import type { Actor } from '../domain/tenancy/actor';
import { scopeOf, type Role, type Scope } from '../domain/tenancy/roles';
import type { LoginRefusal } from '../domain/tenancy/status';

/** The logged-in person as every request sees them (loaded fresh from the database each request). */
export interface Principal {
  /** The login's id; 0 for an API key, which is no login (its id is apiKeyId). */
  id: number;
  email: string;
  name: string;
  role: Role;
  resellerId: number | null;
  resellerName: string | null;
  subscriberId: number | null;
  totpEnabled: boolean;
  /** IANA zone the person reads times in and types dates in: their party's (see partyTimeZone). */
  timeZone: string;
  /** Set when a bearer API key acts (web/api.ts), not a person. */
  apiKeyId?: number;
  /** Set when the account lost access since login (reseller deactivated, user disabled, ...). */
  refusal?: LoginRefusal;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends Principal {}
  }
}

export function principal(req: Request): Principal {
  if (!req.user) throw new Error('principal() on an unauthenticated request');
  return req.user;
}

export function scope(req: Request): Scope {
  return scopeOf(principal(req));
}

/** The resellerId of a reseller-portal request; the route guard guarantees it is set. */
export function resellerIdOf(req: Request): number {
  const p = principal(req);
  if (p.resellerId == null) throw new Error('not a reseller principal');
  return p.resellerId;
}

export function timeZoneOf(req: Request): string {
  return principal(req).timeZone;
}

export function actor(req: Request): Actor {
  const p = principal(req);
  // An API key is no login: the audit names the key (actor_api_key_id), and no user.
  if (p.apiKeyId !== undefined) return { userId: null, apiKeyId: p.apiKeyId, email: p.email, role: p.role, scope: scopeOf(p), ip: req.ip, requestId: String(req.id ?? '') };
  return { userId: p.id, email: p.email, role: p.role, scope: scopeOf(p), ip: req.ip, requestId: String(req.id ?? '') };
}
