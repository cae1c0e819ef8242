// One way to refuse a request: `HttpError` (status + machine code + a message that says what is
// wrong), answered as `{ error: { code, message } }`; and the wrapper every webhook route shares.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { AppContext } from '../src/context';
import { BadRequest } from '../src/platform/paging';

/** Every error answer has one shape: `{ error: { code, message } }`. */
export function fail(ctx: Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.body = { error: { code, message } };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of a presented secret (path token, bearer) with the configured one; false when none is configured. */
export function sameSecret(given: string | undefined, expected: string | null | undefined): boolean {
  if (!expected || given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Wraps a webhook route: an HttpError (or BadRequest) thrown inside is counted (callbacks_rejected_total by
 * reason), logged at info without payload, and answered; the time to a successful answer is observed.
 */
export function webhookRoute(app: AppContext, channel: string, route: string, handler: (ctx: Context) => Promise<void>) {
  return async (ctx: Context): Promise<void> => {
    const started = process.hrtime.bigint();
    try {
      await handler(ctx);
      if (ctx.status < 300) app.metrics.ingestSeconds.observe({ channel }, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (caught) {
      // a validation error from the domain is a refusal like any other: counted and answered here
      const err = caught instanceof BadRequest ? new HttpError(400, 'bad_request', `${caught.field}: ${caught.message}`) : caught;
      if (!(err instanceof HttpError)) throw err;
      app.metrics.callbacksRejected.inc({ channel, reason: err.code });
      app.log.info({ channel, route, reason: err.code, status: err.status }, 'webhook rejected');
      fail(ctx, err.status, err.code, err.message);
    }
  };
}
