// Bearer-token guard for /api. Without ADMIN_TOKEN configured, /api refuses everything.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { fail } from './http-errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function adminAuth(adminToken: string | null): Middleware {
  const expected = adminToken ? digest(adminToken) : null;
  return async (ctx, next) => {
    if (!expected) return fail(ctx, 503, 'admin_disabled', 'ADMIN_TOKEN is not configured on this server, so /api is off');
    const header = ctx.get('authorization');
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) {
      ctx.set('WWW-Authenticate', 'Bearer');
      return fail(ctx, 401, 'unauthorized', 'send Authorization: Bearer <ADMIN_TOKEN>');
    }
    if (!timingSafeEqual(digest(m[1].trim()), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return fail(ctx, 401, 'unauthorized', 'the bearer token is wrong');
    }
    await next();
  };
}
