import type { Database } from '../db/database.ts';
import { pendingMigrations, readMigrations } from '../db/migrate.ts';
import { databaseUnavailable, isDatabaseUnavailable } from '../db/unavailable.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** A probe always has its answer within a second (Kubernetes' default probe timeout), whatever the database does. */
export const HEALTH_CHECK_BUDGET_MS = 800;

/**
 * Ready means: the database answers and every migration shipped with this build is applied. Returns
 * the error to answer with, or undefined when ready. Probes arriving while the database is slow share
 * the check under way instead of taking one more connection each.
 */
export function createHealthCheck(database: Database, logger: Logger): () => Promise<AppError | undefined> {
  const shippedMigrations = readMigrations();
  let underWay: Promise<string[]> | undefined;
  return async () => {
    underWay ??= shippedMigrations
      .then((shipped) => pendingMigrations(database, shipped))
      .finally(() => {
        underWay = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<'out of time'>((resolve) => {
      timer = setTimeout(() => resolve('out of time'), HEALTH_CHECK_BUDGET_MS);
    });
    try {
      const pending = await Promise.race([underWay, outOfTime]);
      if (pending === 'out of time') {
        logger.warn({ budgetMs: HEALTH_CHECK_BUDGET_MS }, 'health check: database did not answer in time');
        return databaseUnavailable(undefined, `The database did not answer within ${HEALTH_CHECK_BUDGET_MS} ms`);
      }
      if (pending.length > 0) return new AppError('SERVICE_UNAVAILABLE', `Migrations not applied yet: ${pending.join(', ')}`);
      return undefined;
    } catch (error) {
      logger.warn({ err: error }, 'health check: database unavailable');
      return databaseUnavailable(error, isDatabaseUnavailable(error) ? 'The database is not reachable' : 'The database check failed');
    } finally {
      clearTimeout(timer);
    }
  };
}
