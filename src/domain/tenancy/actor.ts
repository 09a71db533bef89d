import type { Role, Scope } from './roles';

/** Who is making a change, carried from the request into services and the audit log. */
export interface Actor {
  userId: number | null;
  /** The API key acting (issue 14), when the change came through the API: then userId is null. */
  apiKeyId?: number | null;
  email: string | null;
  role: Role | 'system';
  scope: Scope;
  ip?: string;
  requestId?: string;
}

export const SYSTEM_ACTOR: Actor = { userId: null, email: null, role: 'system', scope: { kind: 'wholesale' } };
