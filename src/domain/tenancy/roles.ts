/** The five kinds of people who log in (DOMAIN.md, "Who is who"). */
export const ROLES = ['wholesale_admin', 'wholesale_support', 'reseller_admin', 'reseller_support', 'subscriber'] as const;
export type Role = (typeof ROLES)[number];

export type Portal = 'wholesale' | 'reseller' | 'subscriber';

export const ROLE_LABELS: Record<Role, string> = {
  wholesale_admin: 'Wholesale admin',
  wholesale_support: 'Wholesale support',
  reseller_admin: 'Reseller admin',
  reseller_support: 'Reseller support',
  subscriber: 'Subscriber',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function portalOf(role: Role): Portal {
  if (role === 'wholesale_admin' || role === 'wholesale_support') return 'wholesale';
  if (role === 'reseller_admin' || role === 'reseller_support') return 'reseller';
  return 'subscriber';
}

/** Customer-service roles see what their admin sees and change nothing. */
export function isReadOnly(role: Role): boolean {
  return role === 'wholesale_support' || role === 'reseller_support';
}

/** Staff (everyone but subscribers) may protect their login with TOTP. */
export function isStaff(role: Role): boolean {
  return role !== 'subscriber';
}

/** Roles that a portal's admins may hand out to their own people. */
export function assignableRoles(portal: Exclude<Portal, 'subscriber'>): Role[] {
  return portal === 'wholesale' ? ['wholesale_admin', 'wholesale_support'] : ['reseller_admin', 'reseller_support'];
}

/**
 * What rows a person may reach. Operator staff reach every tenant; a reseller's people only their
 * reseller; a subscriber only their own account.
 */
export type Scope =
  | { kind: 'wholesale' }
  | { kind: 'reseller'; resellerId: number }
  | { kind: 'subscriber'; resellerId: number; subscriberId: number };

export function scopeOf(person: { role: Role; resellerId: number | null; subscriberId: number | null }): Scope {
  switch (portalOf(person.role)) {
    case 'wholesale':
      return { kind: 'wholesale' };
    case 'reseller':
      if (person.resellerId == null) throw new Error('reseller role without a reseller');
      return { kind: 'reseller', resellerId: person.resellerId };
    case 'subscriber':
      if (person.resellerId == null || person.subscriberId == null) throw new Error('subscriber role without an account');
      return { kind: 'subscriber', resellerId: person.resellerId, subscriberId: person.subscriberId };
  }
}

/** The reseller a scope is confined to, or undefined for operator staff. */
export function tenantOf(scope: Scope): number | undefined {
  return scope.kind === 'wholesale' ? undefined : scope.resellerId;
}
