import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { identityKeyOf, parseTypedIdentity, type ShortNumberRule } from '../../src/domain/legs/identity';

const PBX: ShortNumberRule = { shortNumbers: 'extension', sipDomain: 'pbx.example', countryCode: '1' };
const NATIONAL: ShortNumberRule = { shortNumbers: 'national', sipDomain: 'pbx.example', countryCode: '1' };

describe('short identities on legs', () => {
  test('digits are an extension where the platform reads short numbers as extensions, in the record\'s or the platform\'s domain', () => {
    assert.equal(identityKeyOf('1002', null, null, PBX), '1002@pbx.example');
    assert.equal(identityKeyOf('1002', null, 'Tenant.example', PBX), '1002@tenant.example');
    assert.equal(identityKeyOf('sip:1002@other.example;user=phone', null, 'tenant.example', PBX), '1002@other.example');
    assert.equal(identityKeyOf('1002', null, null, NATIONAL), null, 'national: a short number is nobody\'s, as before');
  });

  test('a SIP user name is one whatever the platform\'s reading of digits, in lower case; a host address is not a domain', () => {
    assert.equal(identityKeyOf('sip:Alice@PBX.example', null, null, NATIONAL), 'alice@pbx.example');
    assert.equal(identityKeyOf('alice@192.0.2.10:5060', null, 'tenant.example', PBX), 'alice@tenant.example');
  });

  test('an E.164 number, anonymous, or no domain at all: no identity', () => {
    assert.equal(identityKeyOf('+12125550100', '+12125550100', null, PBX), null);
    assert.equal(identityKeyOf('anonymous caller', null, null, PBX), null);
    assert.equal(identityKeyOf('1002', null, null, { ...PBX, sipDomain: null }), null);
    assert.equal(identityKeyOf('1002', null, null, undefined), null);
  });
});

describe('short identities typed on the subscriber form', () => {
  test('an extension or a user name, in the reseller\'s default domain or its own', () => {
    assert.deepEqual(parseTypedIdentity('1001', 'acme.example'), { ok: true, identity: '1001', domain: 'acme.example' });
    assert.deepEqual(parseTypedIdentity('Alice@PBX.Example', null), { ok: true, identity: 'alice', domain: 'pbx.example' });
  });

  test('clear errors: no domain, too many digits for an extension, characters a name cannot have', () => {
    assert.deepEqual(parseTypedIdentity('1001', null), { ok: false, reason: '"1001" needs its SIP domain (1001@pbx.example): the reseller has no default SIP domain' });
    assert.match((parseTypedIdentity('1234567', 'acme.example') as { reason: string }).reason, /at most 6 digits/);
    assert.match((parseTypedIdentity('al ice', 'acme.example') as { reason: string }).reason, /not a phone number, an extension or a SIP user name/);
    assert.match((parseTypedIdentity('bob@not a domain', null) as { reason: string }).reason, /not a SIP domain name/);
  });
});
