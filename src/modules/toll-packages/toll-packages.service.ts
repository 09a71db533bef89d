import type { Db, Queryable } from '../../db/knex';
import { ConflictError, FieldErrors, NotFoundError } from '../../domain/errors';
import { cycleAt, type Cycle } from '../../domain/billing/cycles';
import { moneyText } from '../../domain/packages/feature-packages';
import { minutesAndSeconds, secondsLeft, secondsToMinutesText } from '../../domain/packages/toll-catalogue';
import { addDays, DEFAULT_TIME_ZONE, formatDateTime, isValidTimeZone, readZonedWallTime } from '../../domain/time/zones';
import type { Actor } from '../../domain/tenancy/actor';
import { OPERATOR, type Owner } from '../../domain/tenancy/owner';
import type { Scope } from '../../domain/tenancy/roles';
import { recordAudit } from '../audit/audit.repository';
import { getReseller } from '../resellers/resellers.repository';
import { getSubscriber } from '../subscribers/subscribers.repository';
import * as repo from './toll-packages.repository';
import type { AssignInput, EndInput, GroupInput, PackageInput } from './toll-packages.schemas';

export type { DestinationGroup, PackageGroup, TollAssignment, TollPackage } from './toll-packages.repository';
export { minutesAndSeconds };

/** A fee or rate as text (the feature packages' rule: at least 2 decimals, as many as it has). */
export { moneyText };

/** A package's fields as its edit form shows them (minutes from seconds, exactly). */
export function packageFormValues(p: repo.TollPackage): Record<string, string> {
  const values: Record<string, string> = {
    name: p.name, description: p.description, currency: p.currency, setup_fee: p.setupFee.toString(), monthly_fee: p.monthlyFee.toString(),
  };
  for (const g of p.groups) {
    values[`group_${g.groupId}_on`] = 'on';
    values[`group_${g.groupId}_minutes`] = g.includedSeconds === null ? '' : secondsToMinutesText(g.includedSeconds);
    values[`group_${g.groupId}_unlimited`] = g.includedSeconds === null ? 'on' : '';
    values[`group_${g.groupId}_overage`] = g.overageRate?.toString() ?? '';
  }
  return values;
}

/**
 * Toll packages (issue 11, "Toll packages (calling plans)"): destination groups, packages that give
 * them included minutes per billing cycle, who holds which package when, and what is used and left
 * in the current cycle. The operator's packages apply to a reseller's wholesale charges and are
 * held by resellers; a reseller's apply to its subscribers' retail charges. Rating draws the
 * allowances down (another module); this one only reads allowance_usage.
 */

// ---------------------------------------------------------------------------------------------
// Destination groups

/** The groups an owner may put in its packages: its own, and for a reseller the operator's too. */
const usableOwners = (owner: Owner): Owner[] => (owner.kind === 'operator' ? [OPERATOR] : [owner, OPERATOR]);

/** A group the owner keeps (`readable`: or may use read only, the operator's for a reseller). */
export async function getGroupOrThrow(db: Queryable, owner: Owner, id: number, opts: { readable?: boolean } = {}): Promise<repo.DestinationGroup> {
  const group = await repo.getGroup(db, opts.readable ? usableOwners(owner) : [owner], id);
  if (!group) throw new NotFoundError();
  return group;
}

const resellerIdOfOwner = (owner: Owner): number | null => (owner.kind === 'reseller' ? owner.resellerId : null);

async function checkGroupName(db: Queryable, owner: Owner, name: string, exceptId?: number) {
  if (await repo.groupNameTaken(db, owner, name, exceptId)) throw new FieldErrors({ name: `A destination group named ${name} exists already` });
}

export async function createGroup(db: Db, actor: Actor, owner: Owner, input: GroupInput): Promise<repo.DestinationGroup> {
  return db.transaction(async (tx) => {
    await checkGroupName(tx, owner, input.name);
    const id = await repo.insertGroup(tx, owner, input);
    await repo.replacePrefixes(tx, id, input.prefixes.prefixes);
    await recordAudit(tx, actor, { resellerId: resellerIdOfOwner(owner), entityType: 'destination_group', entityId: id, action: 'create', after: { name: input.name, description: input.description, prefixes: input.prefixes.prefixes } });
    return getGroupOrThrow(tx, owner, id);
  });
}

export async function updateGroup(db: Db, actor: Actor, owner: Owner, id: number, input: GroupInput): Promise<repo.DestinationGroup> {
  return db.transaction(async (tx) => {
    const before = await repo.getGroup(tx, [owner], id, { forUpdate: true });
    if (!before) throw new NotFoundError();
    await checkGroupName(tx, owner, input.name, id);
    await repo.updateGroup(tx, id, input);
    await repo.replacePrefixes(tx, id, input.prefixes.prefixes);
    await recordAudit(tx, actor, {
      resellerId: resellerIdOfOwner(owner), entityType: 'destination_group', entityId: id, action: 'update',
      before: { name: before.name, description: before.description, prefixes: before.prefixes },
      after: { name: input.name, description: input.description, prefixes: input.prefixes.prefixes },
    });
    return getGroupOrThrow(tx, owner, id);
  });
}

/** Why a group cannot be deleted, in words; undefined when it can. */
export async function groupInUse(db: Db, owner: Owner, id: number): Promise<{ group: repo.DestinationGroup; reason?: string }> {
  const group = await getGroupOrThrow(db, owner, id);
  return { group, reason: useReason(await repo.groupUse(db, id)) };
}

function useReason(use: { packages: string[]; usageRows: number }): string | undefined {
  if (use.packages.length) return `It gives an allowance in ${use.packages.length === 1 ? 'the toll package' : `${use.packages.length} toll packages:`} ${use.packages.slice(0, 5).join(', ')}${use.packages.length > 5 ? ', …' : ''}. Take it out of them first.`;
  if (use.usageRows) return 'Allowances of it were used by calls; it stays so that their history reads right.';
  return undefined;
}

/** Deletes an unused group (refused while any package uses it or usage was recorded against it). */
export async function deleteGroup(db: Db, actor: Actor, owner: Owner, id: number): Promise<repo.DestinationGroup> {
  return db.transaction(async (tx) => {
    const group = await repo.getGroup(tx, [owner], id, { forUpdate: true });
    if (!group) throw new NotFoundError();
    const reason = useReason(await repo.groupUse(tx, id));
    if (reason) throw new ConflictError(`${group.name} cannot be deleted. ${reason}`);
    await repo.deleteGroup(tx, id);
    await recordAudit(tx, actor, { resellerId: resellerIdOfOwner(owner), entityType: 'destination_group', entityId: id, action: 'delete', before: { name: group.name, prefixes: group.prefixes } });
    return group;
  });
}

// ---------------------------------------------------------------------------------------------
// Toll packages

export async function listPackages(db: Db, owner: Owner, at = new Date()): Promise<repo.TollPackage[]> {
  return repo.listPackages(db, owner, at);
}

export async function getPackageOrThrow(db: Queryable, owner: Owner, id: number, at = new Date()): Promise<repo.TollPackage> {
  const p = await repo.getPackage(db, owner, id, at);
  if (!p) throw new NotFoundError();
  return p;
}

/** Who holds a package now or from a later start (its page). */
export async function packageHolders(db: Db, owner: Owner, id: number, at = new Date()) {
  await getPackageOrThrow(db, owner, id, at);
  return repo.holdersOf(db, id, at);
}

/** The groups a package of this owner may give allowances to. */
export async function usableGroups(db: Db, owner: Owner): Promise<repo.DestinationGroup[]> {
  return repo.listGroups(db, usableOwners(owner));
}

async function checkPackage(db: Queryable, owner: Owner, input: PackageInput, exceptId?: number) {
  if (await repo.packageNameTaken(db, owner, input.name, exceptId)) throw new FieldErrors({ name: `A toll package named ${input.name} exists already` });
  if (!input.groups.length) throw new FieldErrors({ groups: 'Give at least one destination group an allowance' });
  const usable = new Set((await repo.listGroups(db, usableOwners(owner))).map((g) => g.id));
  for (const g of input.groups) {
    if (!usable.has(g.groupId)) throw new FieldErrors({ groups: 'Choose destination groups from the list' });
  }
  await checkOverageCurrency(db, owner, input);
}

/**
 * Rating applies a group's rate after the allowance only to a holder whose plan is in the
 * package's currency (priceWithAllowances): in any other, the plan's own rate applies. So a rate
 * in a currency none of the owner's plans is in would never be used: refused, on each rate and on
 * the currency, rather than stored and silently ignored. An owner without plans rates nothing yet:
 * accepted, and the form says it will apply to plans in the package's currency only.
 */
async function checkOverageCurrency(db: Queryable, owner: Owner, input: PackageInput): Promise<void> {
  const priced = input.groups.filter((g) => g.overageRate !== null);
  if (!priced.length) return;
  const currencies = await repo.planCurrencies(db, owner);
  // No plan yet: nothing is rated, so nothing is ignored; the form says which currency will count.
  if (!currencies.length || currencies.includes(input.currency)) return;
  const message = `Rating would never use this rate: none of your rate plans is in ${input.currency} (they are in ${currencies.join(', ')}), and a rate after the allowance applies only to holders whose plan is in the package’s currency. Leave it blank (the plan’s rate applies) or give the package a currency of your plans`;
  throw new FieldErrors({
    currency: `No rate plan of yours is in ${input.currency}: the rates after the allowance below would never be used`,
    ...Object.fromEntries(priced.map((g) => [`group_${g.groupId}_overage`, message])),
  });
}

/** The currencies of the owner's rate plans (the package form says which a rate after the allowance can apply to). */
export async function planCurrencies(db: Db, owner: Owner): Promise<string[]> {
  return repo.planCurrencies(db, owner);
}

const packageRow = (input: PackageInput): repo.PackageRow => ({ name: input.name, description: input.description, currency: input.currency, setupFee: input.setup_fee, monthlyFee: input.monthly_fee });

/** What the audit log keeps of a package: its fields and each group's allowance, as stored. */
function auditOf(p: { name: string; description: string; currency: string; setupFee: { toString(): string }; monthlyFee: { toString(): string }; groups: Array<{ groupId: number; includedSeconds: number | null; overageRate: { toString(): string } | null }> }) {
  return {
    name: p.name, description: p.description, currency: p.currency, setup_fee: p.setupFee.toString(), monthly_fee: p.monthlyFee.toString(),
    groups: p.groups.map((g) => ({ group_id: g.groupId, included_seconds: g.includedSeconds, overage_rate: g.overageRate?.toString() ?? null })),
  };
}

export async function createPackage(db: Db, actor: Actor, owner: Owner, input: PackageInput): Promise<repo.TollPackage> {
  return db.transaction(async (tx) => {
    await checkPackage(tx, owner, input);
    const id = await repo.insertPackage(tx, owner, packageRow(input));
    await repo.replacePackageGroups(tx, id, input.groups);
    const after = await getPackageOrThrow(tx, owner, id);
    await recordAudit(tx, actor, { resellerId: resellerIdOfOwner(owner), entityType: 'toll_package', entityId: id, action: 'create', after: auditOf(after) });
    return after;
  });
}

/**
 * Changes a package; its holders get the new allowances from now on (usage already recorded in
 * the cycle stays counted against them). A retired package can still be corrected.
 */
export async function updatePackage(db: Db, actor: Actor, owner: Owner, id: number, input: PackageInput): Promise<repo.TollPackage> {
  return db.transaction(async (tx) => {
    const before = await repo.getPackage(tx, owner, id, new Date(), { lock: true });
    if (!before) throw new NotFoundError();
    await checkPackage(tx, owner, input, id);
    await repo.updatePackage(tx, id, packageRow(input));
    await repo.replacePackageGroups(tx, id, input.groups);
    const after = await getPackageOrThrow(tx, owner, id);
    await recordAudit(tx, actor, { resellerId: resellerIdOfOwner(owner), entityType: 'toll_package', entityId: id, action: 'update', before: auditOf(before), after: auditOf(after) });
    return after;
  });
}

/** Retires a package: no new assignments; the ones it has run until they end. */
export async function retirePackage(db: Db, actor: Actor, owner: Owner, id: number): Promise<repo.TollPackage> {
  return db.transaction(async (tx) => {
    const p = await repo.getPackage(tx, owner, id, new Date(), { lock: true });
    if (!p) throw new NotFoundError();
    if (p.retiredAt) throw new ConflictError(`${p.name} is retired already.`);
    await repo.retirePackage(tx, id);
    await recordAudit(tx, actor, { resellerId: resellerIdOfOwner(owner), entityType: 'toll_package', entityId: id, action: 'retire', before: { retired_at: null }, after: { retired_at: new Date() } });
    return getPackageOrThrow(tx, owner, id);
  });
}

// ---------------------------------------------------------------------------------------------
// Parties: who holds what

export type Party = repo.Party;

export interface PartyInfo {
  party: Party;
  resellerId: number;
  /** Whose packages the party may hold: the operator's for a reseller, its reseller's for a subscriber. */
  owner: Owner;
  /** The party's zone (its cycle's) and billing-cycle day. */
  timeZone: string;
  cycleDay: number;
}

/** The party as the scope may see it, or not found (a subscriber never sees its reseller's wholesale packages). */
export async function partyInfo(db: Queryable, scope: Scope, party: Party): Promise<PartyInfo> {
  let resellerId: number;
  if (party.kind === 'reseller') {
    if (scope.kind === 'subscriber' || !(await getReseller(db, scope, party.resellerId))) throw new NotFoundError();
    resellerId = party.resellerId;
  } else {
    const sub = await getSubscriber(db, scope, party.subscriberId);
    if (!sub) throw new NotFoundError();
    resellerId = sub.resellerId;
  }
  const rule = await repo.cycleRuleOf(db, party);
  if (!rule) throw new NotFoundError();
  const timeZone = rule.timeZone && isValidTimeZone(rule.timeZone) ? rule.timeZone : DEFAULT_TIME_ZONE;
  return { party, resellerId, owner: party.kind === 'reseller' ? OPERATOR : { kind: 'reseller', resellerId }, timeZone, cycleDay: rule.day };
}

export type AssignmentState = 'active' | 'scheduled' | 'ended';

export interface TollAssignmentAt extends repo.TollAssignment {
  /** At the instant asked about. */
  state: AssignmentState;
}

const stateAt = (a: repo.TollAssignment, atMs: number): AssignmentState =>
  a.startsAt.getTime() > atMs ? 'scheduled' : a.endsAt && a.endsAt.getTime() <= atMs ? 'ended' : 'active';

/**
 * Every toll-package assignment of the party (history included: rows are ended, never deleted),
 * latest start first, each with its state at `at`. For other modules' pages (self-care, accounts).
 */
export async function tollAssignmentsOf(db: Db, scope: Scope, party: Party, at: Date = new Date()): Promise<TollAssignmentAt[]> {
  await partyInfo(db, scope, party);
  return (await repo.listAssignments(db, party)).map((a) => ({ ...a, state: stateAt(a, at.getTime()) }));
}

/** A billing cycle as pages show it: local dates in the party's zone, the last day inclusive. */
export interface CycleView extends Cycle {
  timeZone: string;
  /** The cycle's last local day (endDate is the next cycle's first). */
  lastDate: string;
}

export interface Allowance {
  assignmentId: number;
  packageId: number;
  packageName: string;
  currency: string;
  groupId: number;
  groupName: string;
  /** Null: unlimited. */
  includedSeconds: number | null;
  usedSeconds: number;
  /** Null: unlimited. */
  leftSeconds: number | null;
  /** Per minute after the allowance, text as stored; null: the plan's rate. */
  overageRate: string | null;
  /**
   * The currency of the party's plan (null: none yet). Rating applies overageRate only when it is
   * the package's currency; otherwise the plan's own rate applies after the allowance.
   */
  planCurrency: string | null;
  /** Whether overageRate is what rating charges after the allowance (false: the plan's rate, see planCurrency). */
  overageApplies: boolean;
  cycle: CycleView;
}

export function cycleOf(info: Pick<PartyInfo, 'timeZone' | 'cycleDay'>, at: Date): CycleView {
  const c = cycleAt(at.getTime(), { day: info.cycleDay, timeZone: info.timeZone });
  return { ...c, timeZone: info.timeZone, lastDate: addDays(c.endDate, -1) };
}

/**
 * What each toll package the party holds at `at` gives per destination group in the billing
 * cycle containing `at` (in the party's zone, from its cycle day): included, used (allowance_usage
 * of that cycle, as rating recorded it) and left. Unlimited allowances have null included and left.
 */
export async function allowancesOf(db: Db, scope: Scope, party: Party, at: Date = new Date()): Promise<Allowance[]> {
  const info = await partyInfo(db, scope, party);
  return allowancesFor(db, info, await repo.listAssignments(db, party), at);
}

async function allowancesFor(db: Queryable, info: PartyInfo, assignments: repo.TollAssignment[], at: Date): Promise<Allowance[]> {
  const active = assignments.filter((a) => stateAt(a, at.getTime()) === 'active').sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || a.id - b.id);
  if (!active.length) return [];
  const cycle = cycleOf(info, at);
  const [groups, used, planCurrency] = await Promise.all([
    repo.groupsOfPackages(db, [...new Set(active.map((a) => a.packageId))]),
    repo.usageIn(db, active.map((a) => a.id), new Date(cycle.startMs)),
    repo.planCurrencyOf(db, info.party),
  ]);
  const out: Allowance[] = [];
  for (const a of active) {
    for (const g of groups.get(a.packageId) ?? []) {
      const usedSeconds = used.get(`${a.id}:${g.groupId}`) ?? 0;
      out.push({
        assignmentId: a.id, packageId: a.packageId, packageName: a.packageName, currency: a.packageCurrency, groupId: g.groupId, groupName: g.groupName,
        includedSeconds: g.includedSeconds, usedSeconds, leftSeconds: secondsLeft(g.includedSeconds, usedSeconds), overageRate: g.overageRate?.toString() ?? null,
        planCurrency, overageApplies: g.overageRate !== null && planCurrency === a.packageCurrency, cycle,
      });
    }
  }
  return out;
}

/** Everything a party's toll-package page or section shows. */
export async function partyView(db: Db, scope: Scope, party: Party, at: Date = new Date()) {
  const info = await partyInfo(db, scope, party);
  const rows = await repo.listAssignments(db, party);
  const assignments = rows.map((a) => ({ ...a, state: stateAt(a, at.getTime()) }));
  const allowances = await allowancesFor(db, info, rows, at);
  return { info, assignments, allowances, cycle: cycleOf(info, at) };
}

/** Packages the party may be given: the owner's that are not retired. */
export async function assignablePackages(db: Db, info: PartyInfo, at = new Date()): Promise<repo.TollPackage[]> {
  return (await repo.listPackages(db, info.owner, at)).filter((p) => !p.retiredAt);
}

/** A wall time typed in the viewer's zone ("2026-12-07 09:30"), as an instant; blank is undefined. */
function wallTime(text: string, zone: string, field: string, label: string): Date | undefined {
  if (!text) return undefined;
  const at = readZonedWallTime(text, zone);
  if (!at.ok) throw new FieldErrors({ [field]: `${label} ${at.reason} (in ${zone})` });
  return new Date(at.ms);
}

const overlapMessage = (a: repo.TollAssignment, zone: string) =>
  `It holds ${a.packageName} already from ${formatDateTime(a.startsAt, zone)}${a.endsAt ? ` until ${formatDateTime(a.endsAt, zone)}` : ' with no end'}: assignments of one package never overlap`;

const EXCLUSION_VIOLATION = '23P01';

/**
 * Gives the party a package of its owner from `starts_at` (blank: now) until `ends_at` (blank:
 * open), both wall times in the viewer's zone. Refused for a retired package and for a span that
 * meets another assignment of the same package to the party. The package row is locked first, so
 * two assignments (or a retirement) of it run one after the other.
 */
export async function assign(db: Db, actor: Actor, scope: Scope, party: Party, input: AssignInput, viewerZone: string, now = new Date()): Promise<repo.TollAssignment> {
  const startsAt = wallTime(input.starts_at, viewerZone, 'starts_at', 'The start') ?? now;
  const endsAt = wallTime(input.ends_at, viewerZone, 'ends_at', 'The end') ?? null;
  if (endsAt && endsAt <= startsAt) throw new FieldErrors({ ends_at: `The end must be after the start (${formatDateTime(startsAt, viewerZone)})` });
  try {
    return await db.transaction(async (tx) => {
      const info = await partyInfo(tx, scope, party);
      const p = await repo.getPackage(tx, info.owner, input.toll_package_id, now, { lock: true });
      if (!p) throw new FieldErrors({ toll_package_id: 'Choose one of the toll packages listed' });
      if (p.retiredAt) throw new FieldErrors({ toll_package_id: `${p.name} is retired: it cannot be given to anyone new` });
      const clash = await repo.overlapping(tx, party, p.id, startsAt, endsAt);
      if (clash) throw new FieldErrors({ starts_at: overlapMessage(clash, viewerZone) });
      const id = await repo.insertAssignment(tx, { resellerId: info.resellerId, subscriberId: party.kind === 'subscriber' ? party.subscriberId : null, packageId: p.id, startsAt, endsAt });
      await recordAudit(tx, actor, {
        resellerId: info.resellerId, entityType: 'toll_package_assignment', entityId: id, action: 'create',
        after: { toll_package_id: p.id, package: p.name, subscriber_id: party.kind === 'subscriber' ? party.subscriberId : null, starts_at: startsAt, ends_at: endsAt },
      });
      return (await repo.getAssignment(tx, party, id)) as repo.TollAssignment;
    });
  } catch (err) {
    // The constraint's word, should two requests slip past the check (it cannot with the lock, but the words are kinder).
    if ((err as { code?: string }).code === EXCLUSION_VIOLATION) throw new FieldErrors({ starts_at: 'It holds this package already for part of that time: assignments of one package never overlap' });
    throw err;
  }
}

/** The assignment of the party, as the scope may see it. */
export async function getAssignmentOrThrow(db: Db, scope: Scope, party: Party, id: number): Promise<repo.TollAssignment> {
  await partyInfo(db, scope, party);
  const a = await repo.getAssignment(db, party, id);
  if (!a) throw new NotFoundError();
  return a;
}

/**
 * Ends an assignment at `ends_at` (blank: now), a wall time in the viewer's zone: never before its
 * start, never later than an end it already has. The row stays, for the history and the charges.
 */
export async function endAssignment(db: Db, actor: Actor, scope: Scope, party: Party, id: number, input: EndInput, viewerZone: string, now = new Date()): Promise<repo.TollAssignment> {
  const typed = wallTime(input.ends_at, viewerZone, 'ends_at', 'The end');
  return db.transaction(async (tx) => {
    const info = await partyInfo(tx, scope, party);
    const a = await repo.getAssignment(tx, party, id, { forUpdate: true });
    if (!a) throw new NotFoundError();
    const endsAt = typed ?? now;
    if (a.endsAt && a.endsAt <= now) throw new ConflictError(`${a.packageName} ended already, at ${formatDateTime(a.endsAt, viewerZone)}.`);
    if (endsAt <= a.startsAt) {
      throw new FieldErrors({ ends_at: `${a.packageName} starts at ${formatDateTime(a.startsAt, viewerZone)}: give an end after that` });
    }
    if (a.endsAt && endsAt > a.endsAt) throw new FieldErrors({ ends_at: `${a.packageName} ends at ${formatDateTime(a.endsAt, viewerZone)} already: give an earlier end` });
    await repo.endAssignment(tx, id, endsAt);
    await recordAudit(tx, actor, { resellerId: info.resellerId, entityType: 'toll_package_assignment', entityId: id, action: 'end', before: { ends_at: a.endsAt }, after: { ends_at: endsAt } });
    return (await repo.getAssignment(tx, party, id)) as repo.TollAssignment;
  });
}

/**
 * A party's toll packages for a section of another page (the subscriber's page, the reseller's
 * page): the allowances of the current cycle, the assignments, a link to the full page (null: none
 * for this viewer) and the formatting the section's view uses.
 */
export async function partySection(db: Db, scope: Scope, party: Party, href: string | null, at: Date = new Date()) {
  const view = await partyView(db, scope, party, at);
  return { allowances: view.allowances, assignments: view.assignments, cycle: view.cycle, href, minutes: minutesAndSeconds, money: moneyText };
}
