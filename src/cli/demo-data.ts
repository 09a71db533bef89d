import type { Db } from '../db/knex';
import { SYSTEM_ACTOR } from '../domain/tenancy/actor';
import { createReseller } from '../modules/resellers/resellers.service';
import { createSubscriber } from '../modules/subscribers/subscribers.service';
import { createStaffUser } from '../modules/users/users.service';

export const DEMO_PASSWORD = 'demo-password-2026';

interface DemoLogin { role: string; email: string }

const RESELLERS = [
  {
    name: 'Acme Voice', code: 'acme-voice', currency: 'USD', domain: 'acme.example', country: 'US',
    subscribers: [
      ['ACME-1001', 'Blue Harbor Dental', 'New York', 'NY', ['(212) 555-0101', '(212) 555-0102']],
      ['ACME-1002', 'Riverside Bakery', 'Albany', 'NY', ['(518) 555-0110']],
      ['ACME-1003', 'Chen Household', 'Newark', 'NJ', ['(973) 555-0123']],
      ['ACME-1004', 'Summit Legal LLP', 'Boston', 'MA', ['(617) 555-0144', '(617) 555-0145', '(617) 555-0146']],
      ['ACME-1005', 'Garcia Household', 'Miami', 'FL', ['(305) 555-0157']],
      ['ACME-1006', 'Northwind Logistics', 'Chicago', 'IL', ['(312) 555-0168', '(800) 555-0169']],
    ],
  },
  {
    name: 'Nordic Telecom', code: 'nordic-telecom', currency: 'EUR', domain: 'nordic.example', country: 'DE',
    subscribers: [
      ['NT-2001', 'Bäckerei Müller', 'Berlin', 'BE', ['030 1234567']],
      ['NT-2002', 'Schmidt & Partner', 'Hamburg', 'HH', ['040 7654321', '040 7654322']],
      ['NT-2003', 'Familie Weber', 'München', 'BY', ['089 2223334']],
      ['NT-2004', 'Hotel Seeblick', 'Konstanz', 'BW', ['07531 987654']],
      ['NT-2005', 'Praxis Dr. Fischer', 'Köln', 'NW', ['0221 445566']],
      ['NT-2006', 'Familie Jansen', 'Bremen', 'HB', ['0421 332211']],
    ],
  },
] as const;

/**
 * A small, realistic data set so a newcomer can click through every portal: two resellers, a dozen
 * subscribers with numbers, and a login for every role. Loaded through the services, so it is
 * validated and audited like anything typed into the portals. Returns undefined if already loaded.
 */
export async function loadDemoData(db: Db): Promise<DemoLogin[] | undefined> {
  if (await db('resellers').where({ code: 'acme-voice' }).first()) return undefined;
  const logins: DemoLogin[] = [];
  const staff = async (portal: 'wholesale' | 'reseller', resellerId: number | null, role: string, email: string, name: string) => {
    await createStaffUser(db, SYSTEM_ACTOR, portal, resellerId, { name, email, role, password: DEMO_PASSWORD });
    logins.push({ role, email });
  };
  await staff('wholesale', null, 'wholesale_admin', 'ops@operator.example', 'Olivia Operator');
  await staff('wholesale', null, 'wholesale_support', 'support@operator.example', 'Sam Support');
  for (const r of RESELLERS) {
    const reseller = await createReseller(db, SYSTEM_ACTOR, {
      name: r.name, code: r.code, currency: r.currency, billing_service: true,
      contact_name: `${r.name} operations`, contact_email: `ops@${r.domain}`, contact_phone: null, notes: 'Demo reseller',
      admin_name: `${r.name} admin`, admin_email: `admin@${r.domain}`, admin_password: DEMO_PASSWORD,
    });
    logins.push({ role: 'reseller_admin', email: `admin@${r.domain}` });
    await staff('reseller', reseller.id, 'reseller_support', `support@${r.domain}`, `${r.name} support`);
    let first = true;
    for (const [account, name, city, region, numbers] of r.subscribers) {
      const loginEmail = first ? `portal@${account.toLowerCase()}.${r.domain}` : undefined;
      await createSubscriber(db, SYSTEM_ACTOR, reseller.id, {
        account_number: account, name, contact_name: null, email: `billing@${account.toLowerCase()}.${r.domain}`, phone: null,
        address_line1: '1 Main Street', address_line2: null, city, region, postal_code: null, country: r.country,
        numbers: [...numbers], login_email: loginEmail, login_password: loginEmail ? DEMO_PASSWORD : undefined,
      });
      if (loginEmail) logins.push({ role: 'subscriber', email: loginEmail });
      first = false;
    }
  }
  return logins;
}
