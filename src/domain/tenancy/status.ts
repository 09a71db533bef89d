/**
 * Activation is hierarchical (DOMAIN.md): a deactivated reseller suspends its subscribers and its
 * people without changing their own status, so reactivating the reseller restores exactly what was
 * active before.
 */
export type Status = 'active' | 'inactive';
export type EffectiveStatus = 'active' | 'inactive' | 'suspended';

export const STATUSES: readonly Status[] = ['active', 'inactive'];

export function subscriberEffectiveStatus(resellerStatus: Status, subscriberStatus: Status): EffectiveStatus {
  if (subscriberStatus === 'inactive') return 'inactive';
  return resellerStatus === 'active' ? 'active' : 'suspended';
}

export type LoginRefusal = 'user_disabled' | 'reseller_suspended' | 'subscriber_inactive';

export interface LoginSubject {
  userStatus: 'active' | 'disabled';
  /** Absent for operator staff. */
  resellerStatus?: Status;
  /** Present only for subscriber logins. */
  subscriberStatus?: Status;
}

export function loginRefusal(s: LoginSubject): LoginRefusal | undefined {
  if (s.userStatus !== 'active') return 'user_disabled';
  if (s.resellerStatus === 'inactive') return 'reseller_suspended';
  if (s.subscriberStatus === 'inactive') return 'subscriber_inactive';
  return undefined;
}

export const LOGIN_REFUSAL_MESSAGES: Record<LoginRefusal, string> = {
  user_disabled: 'This login has been disabled. Ask your administrator to enable it.',
  reseller_suspended: 'This account is suspended. Please contact your service provider.',
  subscriber_inactive: 'This account is deactivated. Please contact your service provider.',
};

/** What a reseller status change does to its subscribers, shown before and after the change. */
export interface CascadeImpact {
  /** Subscribers whose effective status changes (active <-> suspended). */
  subscribersAffected: number;
  /** Logins (reseller people and subscribers) that lose or regain access. */
  usersAffected: number;
}

export function cascadeImpact(counts: { activeSubscribers: number; activeUsers: number }): CascadeImpact {
  // Subscribers already inactive on their own are untouched either way.
  return { subscribersAffected: counts.activeSubscribers, usersAffected: counts.activeUsers };
}
