// Bearer-token guard for /api (and /admin). Without ADMIN_TOKEN configured, /api refuses everything.
import type { Middleware } from 'koa';
import { fail, sameSecret } from './http-errors';

export function adminAuth(adminToken: string | null): Middleware {
  return async (ctx, next) => {
    if (!adminToken) return fail(ctx, 503, 'admin_disabled', 'ADMIN_TOKEN is not configured on this server, so /api is off');
    const m = /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'));
    if (!m) {
      ctx.set('WWW-Authenticate', 'Bearer');
      return fail(ctx, 401, 'unauthorized', 'send Authorization: Bearer <ADMIN_TOKEN>');
    }
    if (!sameSecret(m[1].trim(), adminToken)) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return fail(ctx, 401, 'unauthorized', 'the bearer token is wrong');
    }
    await next();
  };
}
