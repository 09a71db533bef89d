import type { Request } from 'express';
import type { Db } from '../../db/knex';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../../domain/time/zones';
import type { ApiKeyCheck } from '../../web/api';
import type { Principal } from '../../web/principal';
import * as service from './api-keys.service';

/**
 * The API's key check (web/api.ts): a bearer key of ours becomes the principal of its party's
 * admin (read-write) or support role (read-only), so the API runs the portal's services with the
 * portal's scope and guards. A deactivated reseller's key is refused as its people's sessions are.
 * The key's last use is noted (at most once a minute, after the answer is decided).
 */
export function apiKeyCheck(db: Db): ApiKeyCheck {
  return async (token: string, req: Request): Promise<Principal | undefined> => {
    const found = await service.checkKey(db, token);
    if (!found.ok) return undefined;
    const k = found.key;
    if (!found.suspended) {
      service.noteUse(db, k, req.ip ?? null).catch((err) => req.log?.warn({ err, apiKeyId: k.id }, 'could not note an API key’s last use'));
    }
    return {
      id: 0,
      apiKeyId: k.id,
      email: service.keyLabel(k),
      name: k.name,
      role: found.role,
      resellerId: k.resellerId,
      resellerName: k.resellerName,
      subscriberId: null,
      totpEnabled: false,
      timeZone: isValidTimeZone(k.timeZone) ? k.timeZone : DEFAULT_TIME_ZONE,
      refusal: found.suspended ? 'reseller_suspended' : undefined,
    };
  };
}
