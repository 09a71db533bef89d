import { ReferenceCache } from '../../db/change-notices';
import { allPlatforms, type Platform } from './platforms.repository';

/** Platforms by id, as the intake's credential check reads them. */
export type PlatformsById = ReadonlyMap<number, Readonly<Platform>>;

/**
 * Every platform in memory (an operator has a handful of switches): the credential check of each
 * CDR post costs no query, and a token naming an unknown id is refused from memory too. Dropped on
 * every change of any platform (changeReferenceData 'platforms'). The objects are shared by every
 * request, hence frozen.
 */
export function platformCache(): ReferenceCache<PlatformsById> {
  return new ReferenceCache('platforms', async (db) => {
    const byId = new Map<number, Readonly<Platform>>();
    for (const p of await allPlatforms(db)) {
      if (p.allowedSources) Object.freeze(p.allowedSources);
      Object.freeze(p.trunkCarriers);
      byId.set(p.id, Object.freeze(p));
    }
    return byId;
  });
}
