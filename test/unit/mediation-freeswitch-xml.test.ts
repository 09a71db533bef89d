import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { AdapterContext, AdapterResult, NormalisedLeg } from '../../src/domain/legs/leg';
import { ADAPTERS, MediationError, parseFreeswitchJson, parseFreeswitchXml } from '../../src/domain/mediation';

const FIXTURES = path.resolve(__dirname, '../fixtures/cdr');
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, 'freeswitch', name), 'utf8');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function legsOf(result: AdapterResult): NormalisedLeg[] {
  return result.records.flatMap((r) => {
    assert.ok(r.ok, r.ok ? '' : `record ${r.index} refused: ${r.error}`);
    return r.legs;
  });
}

/**
 * The summitrabz sample as mod_xml_cdr wrote it before its author URL-decoded it by hand: every
 * <variables> value URL-encoded again (encode-values=true), which makes it well-formed.
 */
function reEncoded(xml: string): string {
  const open = xml.indexOf('<variables>') + '<variables>'.length;
  const close = xml.indexOf('</variables>');
  const inner = xml.slice(open, close).replace(/<([A-Za-z_][\w-]*)>([\s\S]*?)<\/\1>/g, (_m, name: string, value: string) => `<${name}>${encodeURIComponent(value)}</${name}>`);
  return xml.slice(0, open) + inner + xml.slice(close);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const scalarsXml = (o: Record<string, unknown>) =>
  Object.entries(o)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([k, v]) => `<${k}>${esc(String(v))}</${k}>`)
    .join('');

/** A mod_json_cdr document laid out as mod_xml_cdr writes the same CDR. */
function jsonCdrToXml(doc: Record<string, any>): string {
  const flows = (Array.isArray(doc.callflow) ? doc.callflow : [doc.callflow]) as Array<Record<string, any>>;
  const profileXml = (cp: Record<string, any>) => {
    let x = scalarsXml(cp);
    for (const role of ['originator', 'originatee']) {
      const list = cp[role]?.[`${role}_caller_profiles`] as Array<Record<string, unknown>> | undefined;
      if (list) x += `<${role}>${list.map((p) => `<${role}_caller_profile type="${role}">${scalarsXml(p)}</${role}_caller_profile>`).join('')}</${role}>`;
    }
    return x;
  };
  return [
    '<?xml version="1.0"?>',
    `<cdr core-uuid="${doc['core-uuid']}" switchname="${doc.switchname}">`,
    `<channel_data>${scalarsXml(doc.channel_data)}</channel_data>`,
    `<variables>${scalarsXml(doc.variables)}</variables>`,
    ...flows.map((f) => `<callflow dialplan="" unique-id="" profile_index="${f.profile_index}"><caller_profile>${profileXml(f.caller_profile)}</caller_profile><times>${scalarsXml(f.times)}</times></callflow>`),
    '</cdr>',
  ].join('\n');
}

describe('freeswitch-xml', () => {
  test('the not-well-formed sample is refused as a whole, naming the line, column and the bad tag', () => {
    assert.throws(
      () => parseFreeswitchXml(read('not-well-formed_xmlcdr.xml'), 'text/xml', { timeZone: 'Asia/Kolkata', countryCode: '91' }),
      (err: unknown) => {
        assert.ok(err instanceof MediationError);
        assert.equal(err.message, "freeswitch-xml: not well-formed XML at line 138, column 38: Tag 'sip:1001@10.0.0.8' is an invalid name.");
        assert.equal(err.line, 138);
        assert.equal(err.column, 38);
        return true;
      },
    );
  });

  // That switch ran at +05:30 (Event-Date-Local 21:56:59 = Event-Date-GMT 16:26:59).
  const india: AdapterContext = { timeZone: 'Asia/Kolkata', countryCode: '91' };

  test('the same sample with its values URL-encoded again parses to one inbound answered leg', () => {
    const xml = reEncoded(read('not-well-formed_xmlcdr.xml'));
    const legs = legsOf(parseFreeswitchXml(xml, 'application/xml', india));
    assert.equal(legs.length, 1);
    const l = legs[0] as NormalisedLeg;
    assert.deepEqual({ ...l, startMs: iso(l.startMs), answerMs: iso(l.answerMs), endMs: iso(l.endMs) }, {
      legKey: '361ab3a0-fb1f-11e4-a5cc-cb18ef41548e',
      callId: '361ab3a0-fb1f-11e4-a5cc-cb18ef41548e',
      // Extensions 1001 -> 9664: short codes, not phone numbers.
      callingNumber: null,
      calledNumber: null,
      rawCalling: '1001',
      rawCalled: '9664',
      startMs: '2015-05-15T16:26:59.831Z',
      answerMs: '2015-05-15T16:27:09.851Z',
      endMs: '2015-05-15T16:27:17.871Z',
      billableSeconds: 8,
      answered: true,
      disposition: 'answered',
      switchCause: 'NORMAL_CLEARING',
      platformDirection: 'inbound',
      trunk: null,
      redirectingNumber: null,
      accountCode: '1001',
    });
    // Parsing twice gives the same key; the local *_stamp values agree with the epochs in Asia/Kolkata.
    assert.equal(legsOf(parseFreeswitchXml(xml, undefined, india))[0]?.legKey, l.legKey);
    const stampsOnly = xml.replace(/<(\w+_u?epoch)>[^<]*<\/\1>/g, '').replace(/<callflow[\s\S]*<\/callflow>/, '');
    const fromStamps = legsOf(parseFreeswitchXml(stampsOnly, undefined, india))[0] as NormalisedLeg;
    assert.deepEqual([iso(fromStamps.startMs), iso(fromStamps.answerMs), iso(fromStamps.endMs)], ['2015-05-15T16:26:59.000Z', '2015-05-15T16:27:09.000Z', '2015-05-15T16:27:17.000Z']);
  });

  test('posted as a form cdr=<url-encoded XML> (encode=true)', () => {
    const xml = reEncoded(read('not-well-formed_xmlcdr.xml'));
    const legs = legsOf(parseFreeswitchXml(`cdr=${encodeURIComponent(xml)}`, 'application/x-www-form-urlencoded', india));
    assert.equal(legs[0]?.legKey, '361ab3a0-fb1f-11e4-a5cc-cb18ef41548e');
  });

  test('the somleng JSON CDRs written as mod_xml_cdr XML give the same legs, A/B linkage included', () => {
    const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '855' };
    for (const name of fs.readdirSync(path.join(FIXTURES, 'freeswitch')).filter((f) => f.endsWith('.json'))) {
      const json = read(name);
      const xml = jsonCdrToXml(JSON.parse(json));
      assert.deepEqual(legsOf(parseFreeswitchXml(xml, 'text/xml', ctx)), legsOf(parseFreeswitchJson(json, 'application/json', ctx)), name);
    }
    const a = legsOf(parseFreeswitchXml(jsonCdrToXml(JSON.parse(read('somleng_freeswitch_cdr_leg_a_with_joined_by_leg_b.json'))), undefined, ctx))[0];
    const b = legsOf(parseFreeswitchXml(jsonCdrToXml(JSON.parse(read('somleng_freeswitch_cdr_leg_b.json'))), undefined, ctx))[0];
    assert.equal(a?.callId, b?.callId);
  });

  test('other whole-body errors: empty, wrong root, DOCTYPE, unclosed tag', () => {
    const ctx: AdapterContext = { timeZone: 'UTC', countryCode: '1' };
    assert.throws(() => parseFreeswitchXml('  ', undefined, ctx), /freeswitch-xml: the body is empty/);
    assert.throws(() => parseFreeswitchXml('<cdrs><x/></cdrs>', undefined, ctx), /the root element is <cdrs>, expected <cdr>/);
    assert.throws(() => parseFreeswitchXml('<!DOCTYPE cdr [<!ENTITY a "b">]><cdr/>', undefined, ctx), /DOCTYPE/);
    assert.throws(() => parseFreeswitchXml('<cdr>\n<variables>\n<uuid>x</uuid>\n</cdr>', undefined, ctx), (e: unknown) => e instanceof MediationError && /line \d+, column \d+/.test(e.message));
  });

  test('a well-formed <cdr> without variables is a refused record, not a thrown error', () => {
    const r = parseFreeswitchXml('<cdr><channel_data><direction>inbound</direction></channel_data></cdr>', undefined, { timeZone: 'UTC', countryCode: '1' });
    assert.deepEqual(r.records.map((x) => (x.ok ? 'ok' : x.error)), ['the CDR has no <variables> element']);
    assert.equal(ADAPTERS['freeswitch-xml'].parse, parseFreeswitchXml);
  });
});
