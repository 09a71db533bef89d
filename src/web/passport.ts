import type { PassportStatic } from 'passport';
import type { Db } from '../db/knex';
import { loginRefusal } from '../domain/tenancy/status';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../domain/time/zones';
import { findLoginById, type LoginRecord } from '../modules/users/users.repository';
import type { Principal } from './principal';

/**
 * Sessions keep only the user id; the person, their reseller's status and their own are read again
 * on every request, so a deactivation takes effect on the next click, not at the next login.
 */
export function configurePassport(passport: Pick<PassportStatic, 'serializeUser' | 'deserializeUser'>, db: Db): void {
  passport.serializeUser((user, done) => done(null, (user as Principal).id));
  passport.deserializeUser((id: unknown, done) => {
    findLoginById(db, Number(id))
      .then((u) => {
        done(null, u ? toPrincipal(u) : false);
      })
      .catch(done);
  });
}

export function toPrincipal(u: LoginRecord): Principal {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    resellerId: u.resellerId,
    resellerName: u.resellerName ?? null,
    subscriberId: u.subscriberId,
    totpEnabled: u.totpEnabled,
    // A zone this build's Intl no longer knows reads as UTC rather than failing every page.
    timeZone: u.partyTimeZone && isValidTimeZone(u.partyTimeZone) ? u.partyTimeZone : DEFAULT_TIME_ZONE,
    refusal: loginRefusal({ userStatus: u.status, resellerStatus: u.resellerStatus, subscriberStatus: u.subscriberStatus }),
  };
}
