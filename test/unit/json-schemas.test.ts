/**
 * Form and JSON schemas side by side (docs/ARCHITECTURE.md, "The boundary"): the API's JSON bodies are
 * read by the same field rules as the portal's forms, into the same data for the same services.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newResellerJson, newResellerSchema, resellerFields, resellerJson } from '../../src/modules/resellers/resellers.schemas';
import { newSubscriberJson, newSubscriberSchema, subscriberFields, subscriberJson } from '../../src/modules/subscribers/subscribers.schemas';
import { parseForm } from '../../src/web/forms';
import { pointerOf } from '../../src/web/problems';

function errorsOf(r: ReturnType<typeof parseForm>): Record<string, string> {
  assert.equal(r.ok, false, 'expected the input to be refused');
  return r.ok ? {} : r.errors;
}

describe('resellers: the JSON schema beside the form', () => {
  const form = { name: ' Acme ', code: 'ACME', currency: 'usd', billing_service: 'on', contact_name: '', contact_email: '', contact_phone: '', notes: '', sip_domain: 'PBX.Acme.example', time_zone: '' };
  const json = { name: ' Acme ', code: 'ACME', currency: 'usd', billing_service: true, contact_name: null, contact_email: null, contact_phone: null, notes: null, sip_domain: 'PBX.Acme.example', time_zone: null };

  test('the same reseller typed on the form and sent as JSON is the same data', () => {
    const a = parseForm(resellerFields, form);
    const b = parseForm(resellerJson, json);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(b.data, a.data);
    assert.equal(b.data.billing_service, true);
    assert.equal(b.data.contact_email, null);
  });

  test('JSON types: a boolean, not a checkbox; absent members are blanks; unknown members are refused', () => {
    assert.deepEqual(errorsOf(parseForm(resellerJson, { ...json, billing_service: 'on' })), { billing_service: 'billing_service must be true or false' });
    const { billing_service: _b, contact_name: _c, ...rest } = json;
    const partial = parseForm(resellerJson, rest);
    assert.ok(partial.ok);
    assert.equal(partial.data.billing_service, false);
    assert.equal(partial.data.contact_name, null);
    assert.match(errorsOf(parseForm(resellerJson, { ...json, nmae: 'typo' }))._form ?? '', /nmae/);
  });

  test("the field rules are the form's: same messages for the same mistakes", () => {
    const bad = { name: '', code: 'x', currency: 'dollars', contact_email: 'nope', time_zone: 'Mars/Base' };
    const fromForm = errorsOf(parseForm(resellerFields, { ...form, ...bad }));
    const fromJson = errorsOf(parseForm(resellerJson, { ...json, ...bad }));
    assert.deepEqual(fromJson, fromForm);
    assert.deepEqual(Object.keys(fromJson).sort(), ['code', 'contact_email', 'currency', 'name', 'time_zone']);
    // null for a required field is as missing as a blank.
    assert.equal(errorsOf(parseForm(resellerJson, { ...json, name: null })).name, 'Name is required');
  });

  test('a new reseller with its first admin: the same data from either', () => {
    const admin = { admin_name: 'Ann', admin_email: 'Ann@Example.com', admin_password: 'a long enough password' };
    const a = parseForm(newResellerSchema, { ...form, ...admin });
    const b = parseForm(newResellerJson, { ...json, ...admin });
    assert.ok(a.ok && b.ok);
    assert.deepEqual(b.data, a.data);
    assert.equal(errorsOf(parseForm(newResellerJson, { ...json, ...admin, admin_password: 'short' })).admin_password, 'Password must be at least 12 characters');
  });
});

describe('subscribers: the JSON schema beside the form', () => {
  const form = { account_number: 'A-1', name: 'Bob', contact_name: '', email: 'BOB@example.com', phone: '', address_line1: '', address_line2: '', city: '', region: '', postal_code: '', country: 'us', time_zone: '' };
  const json = { account_number: 'A-1', name: 'Bob', contact_name: null, email: 'BOB@example.com', phone: null, address_line1: null, address_line2: null, city: null, region: null, postal_code: null, country: 'us', time_zone: null };

  test('the same subscriber from the form and from JSON is the same data', () => {
    const a = parseForm(subscriberFields, form);
    const b = parseForm(subscriberJson, json);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(b.data, a.data);
  });

  test('numbers: lines of text on the form, a list in JSON, the same list either way', () => {
    const a = parseForm(newSubscriberSchema, { ...form, numbers: '+1 212 555 0100\n  \n2125550101' });
    const b = parseForm(newSubscriberJson, { ...json, numbers: [' +1 212 555 0100', '', '2125550101'] });
    assert.ok(a.ok && b.ok);
    assert.deepEqual(b.data, a.data);
    assert.deepEqual(b.data.numbers, ['+1 212 555 0100', '2125550101']);
    assert.equal(errorsOf(parseForm(newSubscriberJson, { ...json, numbers: '+12125550100' })).numbers, 'numbers must be a list of phone numbers');
    // A bad member of the list is named by its place, which problem details turn into a JSON Pointer.
    const nested = errorsOf(parseForm(newSubscriberJson, { ...json, numbers: ['+12125550100', 5] }));
    assert.deepEqual(Object.keys(nested), ['numbers.1']);
    assert.equal(pointerOf('numbers.1'), '#/numbers/1');
  });

  test("the portal login's rule (an email and a password, or neither) holds for JSON too", () => {
    assert.deepEqual(errorsOf(parseForm(newSubscriberJson, { ...json, login_email: 'bob@example.com' })), { login_password: 'Set a password for the portal login' });
    assert.deepEqual(errorsOf(parseForm(newSubscriberJson, { ...json, login_password: 'a long enough password' })), { login_email: 'Enter the email the subscriber logs in with' });
  });
});

describe('problem details: field names as JSON Pointers', () => {
  test('a field is a pointer into the body; the form as a whole has none; "~" and "/" are escaped', () => {
    assert.equal(pointerOf('admin_email'), '#/admin_email');
    assert.equal(pointerOf('_form'), undefined);
    assert.equal(pointerOf('a/b~c.d'), '#/a~1b~0c/d');
  });
});
