import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { makeCallLeg } from '../support/factories';
import { makePlatform } from '../support/intake';
import { down, up } from '../../migrations/20261207003200_call_legs_disposition_vocabulary';

/**
 * Legs stored before the one vocabulary kept the switch's own word in disposition. The data
 * migration moves it to switch_cause and maps disposition by the platform's format, in SQL, with
 * the same table as the adapters (src/domain/mediation/disposition.ts).
 */
describe('migration: stored dispositions become the one vocabulary', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());

  /** A leg stored as before the vocabulary: the switch's word in disposition, no switch_cause. */
  async function oldLeg(format: string, word: string, answered: boolean): Promise<number> {
    const p = await makePlatform(t.db, { format });
    const leg = await makeCallLeg(t.db, { platformId: p.id });
    await t.db('call_legs').where({ id: leg.id }).update({ disposition: word, answered, switch_cause: null, ...(answered ? {} : { billable_seconds: 0, answer_at: null }) });
    return leg.id;
  }

  test('each format maps its own words; the word is kept as switch_cause; down puts it back', async () => {
    const cases: Array<[string, string, boolean, string]> = [
      ['freeswitch-json', 'NORMAL_CLEARING', true, 'answered'],
      ['freeswitch-json', 'USER_BUSY', false, 'busy'],
      ['freeswitch-xml', 'NO_USER_RESPONSE', false, 'no_answer'],
      ['freeswitch-json', 'ORIGINATOR_CANCEL', false, 'cancelled'],
      ['freeswitch-json', 'NORMAL_CLEARING', false, 'cancelled'],
      ['freeswitch-json', 'UNALLOCATED_NUMBER', false, 'failed'],
      ['asterisk-csv', 'ANSWERED', true, 'answered'],
      ['asterisk-csv', 'NO ANSWER', false, 'no_answer'],
      ['asterisk-csv', 'BUSY', false, 'busy'],
      ['asterisk-csv', 'FAILED', false, 'failed'],
      ['asterisk-csv', 'CONGESTION', false, 'failed'],
      ['kamailio-acc', '200', true, 'answered'],
      ['kamailio-acc', '486', false, 'busy'],
      ['kamailio-acc', '600', false, 'busy'],
      ['kamailio-acc', '487', false, 'cancelled'],
      ['kamailio-acc', '408', false, 'no_answer'],
      ['kamailio-dialog', '480', false, 'no_answer'],
      ['kamailio-acc', '403', false, 'failed'],
      ['broadworks-csv', '016', true, 'answered'],
      ['broadworks-csv', '017', false, 'busy'],
      ['broadworks-csv', '019', false, 'no_answer'],
      ['broadworks-csv', '016', false, 'cancelled'],
      ['broadworks-csv', '034', false, 'failed'],
      ['broadworks-csv', 'No', false, 'failed'],
    ];
    const ids: number[] = [];
    for (const [format, word, answered] of cases) ids.push(await oldLeg(format, word, answered));
    // The generic formats stored the vocabulary already: untouched, no switch cause.
    const generic = await oldLeg('generic-json', 'busy', false);

    await up(t.db);
    const rows = await t.db('call_legs').whereIn('id', [...ids, generic]).select('id', 'disposition', 'switch_cause');
    const byId = new Map(rows.map((r) => [r.id as number, r]));
    assert.deepEqual(
      ids.map((id) => [byId.get(id)?.disposition, byId.get(id)?.switch_cause]),
      cases.map(([, word, , expected]) => [expected, word]),
    );
    assert.deepEqual([byId.get(generic)?.disposition, byId.get(generic)?.switch_cause], ['busy', null]);

    // Running it again changes nothing: every disposition is a vocabulary word now.
    await up(t.db);
    assert.deepEqual(await t.db('call_legs').whereIn('id', [...ids, generic]).select('id', 'disposition', 'switch_cause').orderBy('id'), [...rows].sort((a, b) => a.id - b.id));

    await down(t.db);
    const back = await t.db('call_legs').whereIn('id', ids).select('id', 'disposition', 'switch_cause');
    const backById = new Map(back.map((r) => [r.id as number, r]));
    assert.deepEqual(ids.map((id) => [backById.get(id)?.disposition, backById.get(id)?.switch_cause]), cases.map(([, word]) => [word, null]));
  });
});
