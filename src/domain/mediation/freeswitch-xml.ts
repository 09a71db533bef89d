/**
 * `freeswitch-xml`: mod_xml_cdr (docs/CDR-FORMATS.md section 1). The same content as mod_json_cdr in
 * an XML document `<cdr core-uuid=".." switchname=".."><channel_data/><variables/>
 * <callflow profile_index="n"><caller_profile>..<originator><originator_caller_profile>..`.
 *
 * Body: the document itself, or a form `cdr=<url-encoded XML>` (encode=true). Values are
 * URL-decoded (encode-values=true). A document that is not well-formed XML (for instance one
 * whose values were URL-decoded by hand, so `<sip:1001@host>` appears as a tag) throws a
 * MediationError naming the line and column. DOCTYPE declarations are refused (no entity tricks).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AdapterContext, AdapterResult } from '../legs/leg';
import type { MediationAdapter } from './adapter';
import { fail, isPlainObject, MediationError, outcome } from './common';
import { type FsCdr, fsCallflow, fsLeg, fsScalars, fsText, fsUnwrapForm, sortCallflows } from './freeswitch-cdr';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

function readXml(text: string): Record<string, unknown> {
  if (text.trim() === '') throw new MediationError('freeswitch-xml: the body is empty');
  if (/<!DOCTYPE/i.test(text)) throw new MediationError('freeswitch-xml: DOCTYPE declarations are not accepted in a CDR');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    throw new MediationError(`freeswitch-xml: not well-formed XML at line ${line}, column ${col}: ${msg}`, line, col);
  }
  const doc = parser.parse(text) as unknown;
  if (!isPlainObject(doc)) throw new MediationError('freeswitch-xml: the document has no root element');
  return doc;
}

function fromXml(cdr: unknown): FsCdr {
  if (!isPlainObject(cdr)) fail('the <cdr> element is empty');
  const variables = cdr['variables'];
  if (!isPlainObject(variables)) fail('the CDR has no <variables> element');
  const cf = cdr['callflow'];
  const flows = (Array.isArray(cf) ? cf : cf === undefined ? [] : [cf]).map(fsCallflow).filter((f) => f !== null);
  const channelData = isPlainObject(cdr['channel_data']) ? cdr['channel_data'] : {};
  return {
    variables: fsScalars(variables),
    channelDirection: fsText(channelData['direction']),
    topUuid: undefined,
    callflows: sortCallflows(flows),
  };
}

export function parseFreeswitchXml(body: string, contentType: string | undefined, ctx: AdapterContext): AdapterResult {
  const text = fsUnwrapForm(body, contentType, 'freeswitch-xml').replace(/^\uFEFF/, '');
  const doc = readXml(text);
  const roots = Object.keys(doc);
  if (!('cdr' in doc)) throw new MediationError(`freeswitch-xml: the root element is <${roots[0] ?? '?'}>, expected <cdr>`);
  const cdr = doc['cdr'];
  if (Array.isArray(cdr)) {
    return { records: cdr.map((one, index) => outcome(index, JSON.stringify(one), () => [fsLeg(fromXml(one), ctx)])) };
  }
  return { records: [outcome(0, text, () => [fsLeg(fromXml(cdr), ctx)])] };
}

export const freeswitchXml: MediationAdapter = { format: 'freeswitch-xml', parse: parseFreeswitchXml };
