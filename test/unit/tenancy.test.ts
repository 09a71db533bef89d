import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assignableRoles, isReadOnly, portalOf, ROLES, scopeOf, tenantOf } from '../../src/domain/tenancy/roles';
import { cascadeImpact, loginRefusal, subscriberEffectiveStatus } from '../../src/domain/tenancy/status';

describe('status cascade', () => {
  test('an active subscriber of a deactivated reseller is suspended, and active again when the reseller is', () => {
    assert.equal(subscriberEffectiveStatus('inactive', 'active'), 'suspended');
    assert.equal(subscriberEffectiveStatus('active', 'active'), 'active');
  });

  test('a subscriber deactivated on its own stays inactive whatever the reseller does', () => {
    assert.equal(subscriberEffectiveStatus('active', 'inactive'), 'inactive');
    assert.equal(subscriberEffectiveStatus('inactive', 'inactive'), 'inactive');
  });

  test('login is refused for a disabled user, a suspended reseller, a deactivated subscriber, in that order', () => {
    assert.equal(loginRefusal({ userStatus: 'active' }), undefined);
    assert.equal(loginRefusal({ userStatus: 'active', resellerStatus: 'active', subscriberStatus: 'active' }), undefined);
    assert.equal(loginRefusal({ userStatus: 'disabled', resellerStatus: 'inactive' }), 'user_disabled');
    assert.equal(loginRefusal({ userStatus: 'active', resellerStatus: 'inactive', subscriberStatus: 'inactive' }), 'reseller_suspended');
    assert.equal(loginRefusal({ userStatus: 'active', resellerStatus: 'active', subscriberStatus: 'inactive' }), 'subscriber_inactive');
  });

  test('the impact of a reseller status change counts only what is active on its own', () => {
    assert.deepEqual(cascadeImpact({ activeSubscribers: 7, activeUsers: 9 }), { subscribersAffected: 7, usersAffected: 9 });
  });
});

describe('roles and scope', () => {
  test('each role belongs to one portal; support roles are read-only', () => {
    assert.deepEqual(ROLES.map(portalOf), ['wholesale', 'wholesale', 'reseller', 'reseller', 'subscriber']);
    assert.deepEqual(ROLES.filter(isReadOnly), ['wholesale_support', 'reseller_support']);
  });

  test('scope confines reseller people and subscribers to their tenant', () => {
    assert.deepEqual(scopeOf({ role: 'wholesale_support', resellerId: null, subscriberId: null }), { kind: 'wholesale' });
    assert.deepEqual(scopeOf({ role: 'reseller_support', resellerId: 4, subscriberId: null }), { kind: 'reseller', resellerId: 4 });
    assert.deepEqual(scopeOf({ role: 'subscriber', resellerId: 4, subscriberId: 9 }), { kind: 'subscriber', resellerId: 4, subscriberId: 9 });
    assert.equal(tenantOf({ kind: 'wholesale' }), undefined);
    assert.equal(tenantOf({ kind: 'subscriber', resellerId: 4, subscriberId: 9 }), 4);
  });

  test('a reseller role without a reseller is a programming error, not an unscoped query', () => {
    assert.throws(() => scopeOf({ role: 'reseller_admin', resellerId: null, subscriberId: null }));
    assert.throws(() => scopeOf({ role: 'subscriber', resellerId: 1, subscriberId: null }));
  });

  test('admins hand out only their own portal\'s roles', () => {
    assert.deepEqual(assignableRoles('wholesale'), ['wholesale_admin', 'wholesale_support']);
    assert.deepEqual(assignableRoles('reseller'), ['reseller_admin', 'reseller_support']);
  });
});
