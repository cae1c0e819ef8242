// Bearer-token guard for /api (and /admin). Without ADMIN_TOKEN configured, /api refuses everything.
import type { Middleware } from 'koa';
import { DomainError, Unavailable } from '../src/platform/errors';
import { sameSecret } from './http-errors';

export function adminAuth(adminToken: string | null): Middleware {
  return async (ctx, next) => {
    if (!adminToken) throw new Unavailable('admin_disabled', 'ADMIN_TOKEN is not configured on this server, so /api is off');
    const m = /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'));
    if (!m) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new DomainError('unauthorized', 'unauthorized', 'send Authorization: Bearer <ADMIN_TOKEN>');
    }
    if (!sameSecret(m[1].trim(), adminToken)) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new DomainError('unauthorized', 'unauthorized', 'the bearer token is wrong');
    }
    await next();
  };
}
