// /api/policy: the one contact policy (quiet hours, caps, conversation pause) — auth (router-level) →
// validate (400 naming the field) → store → the policy as now in force.
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { getPolicy, parsePolicy, savePolicy } from '../src/sending/contact-policy';
import { readJson } from './body';

export function registerPolicyRoutes(router: Router, app: AppContext): void {
  router.get('/api/policy', async (ctx) => {
    ctx.body = await getPolicy(app.db);
  });

  router.put('/api/policy', async (ctx) => {
    const body = await readJson(ctx, 16 * 1024);
    const policy = parsePolicy(body);
    const actor = (ctx.get('x-actor') || 'admin').slice(0, 64);
    ctx.body = await savePolicy(app.db, policy, actor, app.now());
  });
}
