// What every webhook route shares: the constant-time secret check and the wrapper that counts its
// refusals. Refusals themselves are domain errors (src/platform/errors.ts), answered by src/app.ts.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { AppContext } from '../src/context';
import { refusalOf } from '../src/platform/errors';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of a presented secret (path token, bearer) with the configured one; false when none is configured. */
export function sameSecret(given: string | undefined, expected: string | null | undefined): boolean {
  if (!expected || given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Wraps a webhook route: a refusal thrown inside (any error with a kind, src/platform/errors.ts) is
 * counted (callbacks_rejected_total by reason = its code) and logged at info without payload, then
 * goes on to src/app.ts, which answers it like any other; the time to a successful answer is observed.
 */
export function webhookRoute(app: AppContext, channel: string, route: string, handler: (ctx: Context) => Promise<void>) {
  return async (ctx: Context): Promise<void> => {
    const started = process.hrtime.bigint();
    try {
      await handler(ctx);
      if (ctx.status < 300) app.metrics.ingestSeconds.observe({ channel }, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) {
        app.metrics.callbacksRejected.inc({ channel, reason: refusal.code });
        app.log.info({ channel, route, reason: refusal.code, kind: refusal.kind }, 'webhook rejected');
      }
      throw err;
    }
  };
}
