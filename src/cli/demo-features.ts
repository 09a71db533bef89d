import type { Db } from '../db/knex';
import { Decimal } from '../domain/money/decimal';
import { SYSTEM_ACTOR, type Actor } from '../domain/tenancy/actor';
import { assignPackage, createFeature, createOperatorPackage, createResellerPackage, offerPackage } from '../modules/feature-packages/feature-packages.service';

/** The switch features of the demo catalogue, with the codes the switch understands. */
const FEATURES: Array<[string, string, string]> = [
  ['VM', 'Voicemail', 'Messages left when a call is not answered, by email or the phone.'],
  ['CFWD', 'Call forwarding', 'Always, when busy or when not answered.'],
  ['CLIP', 'Caller ID', 'The caller’s number shown on the phone.'],
  ['CW', 'Call waiting', 'A second call announced during a call.'],
  ['3WAY', 'Three-way calling', 'A third party added to a call.'],
  ['HUNT', 'Hunt group', 'Calls ring several phones in turn or together.'],
  ['DND', 'Do not disturb', 'Calls go straight to voicemail.'],
];

/**
 * The demo's feature packages, through the services (validated and audited): a catalogue, two
 * packages of the operator's offered to every demo reseller, each reseller's own packages built on
 * them, and some of its subscribers holding them for the last month.
 */
export async function loadDemoFeatures(db: Db, resellers: Array<{ id: number; currency: string }>): Promise<void> {
  const ids: Record<string, number> = {};
  for (const [code, name, description] of FEATURES) ids[code] = (await createFeature(db, SYSTEM_ACTOR, { code, name, description })).id;
  const pick = (...codes: string[]) => codes.map((c) => ids[c] as number);
  const residential = await createOperatorPackage(db, SYSTEM_ACTOR, {
    name: 'Residential features', description: 'The everyday features of a home line.', currency: 'USD', setup_fee: new Decimal('0'), monthly_fee: new Decimal('1.50'), feature_ids: pick('VM', 'CFWD', 'CLIP', 'CW', '3WAY'),
  });
  const business = await createOperatorPackage(db, SYSTEM_ACTOR, {
    name: 'Business features', description: 'Everything in the catalogue, for offices.', currency: 'USD', setup_fee: new Decimal('5'), monthly_fee: new Decimal('4.25'), feature_ids: pick('VM', 'CFWD', 'CLIP', 'CW', '3WAY', 'HUNT', 'DND'),
  });
  const start = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 16);
  for (const r of resellers) {
    await offerPackage(db, SYSTEM_ACTOR, residential.id, r.id);
    await offerPackage(db, SYSTEM_ACTOR, business.id, r.id);
    const actor: Actor = { ...SYSTEM_ACTOR, scope: { kind: 'reseller', resellerId: r.id } };
    const home = await createResellerPackage(db, actor, {
      base_package_id: residential.id, name: 'Home essentials', description: null, currency: r.currency, setup_fee: new Decimal('0'), monthly_fee: new Decimal('3.99'), feature_ids: pick('VM', 'CLIP', 'CW'),
    });
    const office = await createResellerPackage(db, actor, {
      base_package_id: business.id, name: 'Office pro', description: null, currency: r.currency, setup_fee: new Decimal('19.00'), monthly_fee: new Decimal('12.50'), feature_ids: pick('VM', 'CFWD', 'CLIP', 'HUNT', 'DND'),
    });
    const subs = (await db('subscribers').where({ reseller_id: r.id }).orderBy('id').pluck('id')) as number[];
    for (const [i, sub] of subs.entries()) {
      await assignPackage(db, actor, sub, { feature_package_id: i % 3 === 1 ? office.id : home.id, starts_at: start, ends_at: null }, 'UTC');
    }
  }
}
