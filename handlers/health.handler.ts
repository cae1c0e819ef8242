// /healthz (MySQL and Redis answer → 200, else 503 naming the one that does not) and /metrics.
import type Router from '@koa/router';
import type { AppContext } from '../src/context';

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

export function registerHealthRoutes(router: Router, app: AppContext): void {
  router.get('/healthz', async (ctx) => {
    const [mysql, redis] = await Promise.allSettled([within(app.db.query('SELECT 1'), 2000), within(app.redis.ping(), 2000)]);
    const state = (r: PromiseSettledResult<unknown>) => (r.status === 'fulfilled' ? 'ok' : `down: ${(r.reason as Error)?.message ?? r.reason}`);
    const ok = mysql.status === 'fulfilled' && redis.status === 'fulfilled';
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ok' : 'unavailable', mysql: state(mysql), redis: state(redis) };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = app.metrics.registry.contentType;
    ctx.body = await app.metrics.registry.metrics();
  });
}
