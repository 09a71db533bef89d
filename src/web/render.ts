import type { NextFunction, Request, Response } from 'express';
import { changedFields } from '../domain/audit/changes';
import { addDays, DEFAULT_TIME_ZONE, formatDateTime, knownTimeZones, zoneAbbreviation } from '../domain/time/zones';
import { countryOptions, currencyOptions } from '../domain/iso-codes';
import { displayAmount } from '../modules/calls/format';
import { ROLE_LABELS, isReadOnly, portalOf, type Role } from '../domain/tenancy/roles';
import { moneyText } from '../domain/packages/feature-packages';

export type FlashKind = 'success' | 'error' | 'info';

declare module 'express-session' {
  interface SessionData {
    returnTo?: string;
    flash?: Array<{ kind: FlashKind; text: string }>;
    /** Password checked, TOTP code still owed (second login step). */
    pendingUserId?: number;
    pendingSince?: number;
    /** Password checked and matching several logins (one per party): the ones the person may choose. */
    pendingChoices?: number[];
    /** TOTP secret shown during enrolment, until the user confirms a code. */
    pendingTotpSecret?: string;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Response {
      /** Renders a view inside the one layout. */
      page(view: string, locals?: Record<string, unknown>): void;
    }
  }
}

export function flash(req: Request, kind: FlashKind, text: string): void {
  (req.session.flash ??= []).push({ kind, text });
}

/** Formatting helpers for templates: they only turn values into text. Times read in UTC here; see viewHelpersFor. */
export const viewHelpers = {
  dateTime(d: Date | string | number | null | undefined): string {
    return formatDateTime(d, DEFAULT_TIME_ZONE);
  },
  roleLabel(role: string): string {
    return ROLE_LABELS[role as Role] ?? role;
  },
  changes: changedFields,
  /** The last local day of a billing cycle (its end date is the next cycle's first). */
  cycleLastDay(c: { endDate: string }): string {
    return addDays(c.endDate, -1);
  },
  /** A stored amount for reading: trailing zeros dropped, at least two decimals (lossless). */
  amount: displayAmount,
  /** An exact amount's text for reading ("5.00", "0.125"): never through a JS number. */
  money: moneyText,
  /** IANA zone names, for a time-zone field's suggestions. */
  timeZones: knownTimeZones,
  /** ISO 4217 currencies and ISO 3166-1 countries with their names, for the code fields' lists. */
  currencies: currencyOptions,
  countries: countryOptions,
  json(v: unknown): string {
    return v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  },
  /** Builds a query string from the current filters plus overrides, dropping empty values. */
  query(base: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...base, ...extra })) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const s = params.toString();
    return s ? `?${s}` : '';
  },
};

/** The helpers of one person's pages: times in their party's zone, each with the zone's name. */
export function viewHelpersFor(timeZone: string) {
  return {
    ...viewHelpers,
    timeZone,
    dateTime: (d: Date | string | number | null | undefined): string => formatDateTime(d, timeZone),
    /** The zone's short name now (EST or EDT, UTC+9), for labels beside the IANA name. */
    zoneName: (at?: Date | number): string => zoneAbbreviation(timeZone, at),
  };
}

/**
 * One entry of the main menu. `group` names the drop-down it sits in (in the order groups first
 * appear); an entry without one stands on the bar itself. One line per entry, so entries added
 * by different features merge without touching each other.
 */
export interface NavItem { href: string; label: string; group?: NavGroupName }
export type NavGroupName = 'Customers' | 'Rating' | 'Packages' | 'Traffic' | 'System';

function navFor(role: Role): NavItem[] {
  switch (portalOf(role)) {
    case 'wholesale':
      return [
        { href: '/wholesale', label: 'Dashboard' },
        { href: '/wholesale/resellers', label: 'Resellers', group: 'Customers' },
        { href: '/wholesale/rate-plans', label: 'Rate plans', group: 'Rating' },
        { href: '/wholesale/taxes', label: 'Taxes', group: 'Rating' },
        { href: '/wholesale/tax-jurisdictions', label: 'Tax jurisdictions', group: 'Rating' },
        { href: '/wholesale/exchange-rates', label: 'Exchange rates', group: 'Rating' },
        { href: '/wholesale/feature-packages', label: 'Feature packages', group: 'Packages' },
        { href: '/wholesale/features', label: 'Features', group: 'Packages' },
        { href: '/wholesale/toll-packages', label: 'Toll packages', group: 'Packages' },
        { href: '/wholesale/destination-groups', label: 'Destination groups', group: 'Packages' },
        { href: '/wholesale/calls', label: 'Calls', group: 'Traffic' },
        { href: '/wholesale/unrated', label: 'Unrated', group: 'Traffic' },
        { href: '/wholesale/rejects', label: 'Rejects', group: 'Traffic' },
        { href: '/wholesale/platforms', label: 'Platforms', group: 'Traffic' },
        { href: '/wholesale/carriers', label: 'LD carriers', group: 'Traffic' },
        { href: '/wholesale/reports', label: 'Reports', group: 'Traffic' },
        { href: '/wholesale/jobs', label: 'Jobs', group: 'System' },
        { href: '/wholesale/webhooks', label: 'Webhooks', group: 'System' },
        { href: '/wholesale/users', label: 'Wholesale users', group: 'System' },
        { href: '/wholesale/api-keys', label: 'API keys', group: 'System' },
        { href: '/wholesale/audit', label: 'Audit log', group: 'System' },
        { href: '/wholesale/settings', label: 'Settings', group: 'System' },
      ];
    case 'reseller':
      return [
        { href: '/reseller', label: 'Dashboard' },
        { href: '/reseller/subscribers', label: 'Subscribers', group: 'Customers' },
        { href: '/reseller/number-ranges', label: 'Number ranges', group: 'Customers' },
        { href: '/reseller/rate-plans', label: 'Rate plans', group: 'Rating' },
        { href: '/reseller/wholesale-plan', label: 'Wholesale plan (costs)', group: 'Rating' },
        { href: '/reseller/below-cost', label: 'Sold below cost', group: 'Rating' },
        { href: '/reseller/taxes', label: 'Taxes', group: 'Rating' },
        { href: '/reseller/feature-packages', label: 'Feature packages', group: 'Packages' },
        { href: '/reseller/toll-packages', label: 'Toll packages', group: 'Packages' },
        { href: '/reseller/destination-groups', label: 'Destination groups', group: 'Packages' },
        { href: '/reseller/calls', label: 'Calls', group: 'Traffic' },
        { href: '/reseller/unrated', label: 'Unrated', group: 'Traffic' },
        { href: '/reseller/record-specs', label: 'Record formats', group: 'Traffic' },
        { href: '/reseller/record-files', label: 'Record files', group: 'Traffic' },
        { href: '/reseller/reports', label: 'Reports', group: 'Traffic' },
        { href: '/reseller/account', label: 'Wholesale account', group: 'System' },
        { href: '/reseller/jobs', label: 'Jobs', group: 'System' },
        { href: '/reseller/webhooks', label: 'Webhooks', group: 'System' },
        { href: '/reseller/users', label: 'Users', group: 'System' },
        { href: '/reseller/api-keys', label: 'API keys', group: 'System' },
        { href: '/reseller/audit', label: 'Audit log', group: 'System' },
      ];
    case 'subscriber':
      return [
        { href: '/me', label: 'My account' },
        { href: '/me/calls', label: 'My calls' },
        { href: '/me/account', label: 'Account status' },
        { href: '/me/toll-packages', label: 'My toll packages' },
        { href: '/me/rates', label: 'My rates' },
        { href: '/me/numbers', label: 'My numbers' },
        { href: '/me/features', label: 'My features' },
      ];
  }
}

/** What the layout draws: links on the bar and drop-downs of links, the current page marked. */
export type NavEntry =
  | { kind: 'link'; href: string; label: string; active: boolean }
  | { kind: 'group'; label: string; active: boolean; items: Array<{ href: string; label: string; active: boolean }> };

/** A link is current on its own page and on the pages below it (a portal's home only on itself). */
function isCurrent(href: string, path: string): boolean {
  return path === href || (href.split('/').length > 2 && path.startsWith(`${href}/`));
}

export function navEntries(items: readonly NavItem[], currentPath: string): NavEntry[] {
  const entries: NavEntry[] = [];
  const groups = new Map<string, Extract<NavEntry, { kind: 'group' }>>();
  for (const item of items) {
    const active = isCurrent(item.href, currentPath);
    if (!item.group) {
      entries.push({ kind: 'link', href: item.href, label: item.label, active });
      continue;
    }
    let group = groups.get(item.group);
    if (!group) {
      group = { kind: 'group', label: item.group, active: false, items: [] };
      groups.set(item.group, group);
      entries.push(group);
    }
    group.items.push({ href: item.href, label: item.label, active });
    group.active ||= active;
  }
  return entries;
}

export function homeFor(role: Role): string {
  const portal = portalOf(role);
  return portal === 'subscriber' ? '/me' : `/${portal}`;
}

/** Installs res.page and the locals every template may use. */
export function renderSetup(req: Request, res: Response, next: NextFunction): void {
  const user = req.user;
  res.locals.user = user;
  // Every time on the person's pages is in their party's zone (anonymous pages show none).
  res.locals.timeZone = user?.timeZone ?? DEFAULT_TIME_ZONE;
  res.locals.h = viewHelpersFor(res.locals.timeZone as string);
  res.locals.nav = user ? navEntries(navFor(user.role), req.path) : [];
  res.locals.readOnly = user ? isReadOnly(user.role) : false;
  res.locals.currentPath = req.path;
  res.locals.csrfToken = typeof req.csrfToken === 'function' ? req.csrfToken() : '';
  // express-session sends the headers before its store write finishes, and a browser follows a
  // redirect as soon as it sees them: the next page could load the session without the flash just
  // set (or the login step just recorded). Save first, then redirect.
  const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    const s = req.session;
    if (!s || Object.keys(s).every((k) => k === 'cookie')) return redirect(...args);
    s.save((err) => (err ? next(err) : redirect(...args)));
  }) as Response['redirect'];
  res.page = (view, locals = {}) => {
    const messages = req.session?.flash ?? [];
    if (req.session) req.session.flash = [];
    const all = { errors: {}, values: {}, ...res.locals, ...locals, flash: messages };
    res.render(view, all, (err, body) => {
      if (err) return next(err);
      res.render('layouts/main', { ...all, body }, (err2, html) => {
        if (err2) return next(err2);
        res.send(html);
      });
    });
  };
  next();
}
