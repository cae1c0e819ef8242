// PIPL rights: GET /api/customers/:id/export (everything we hold about the person, one JSON
// document) and POST /api/customers/:id/erase (src/privacy/privacy.ts).
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { eraseCustomer, exportCustomer } from '../src/privacy/privacy';

export function registerPrivacyRoutes(router: Router, app: AppContext): void {
  router.get('/api/customers/:id/export', async (ctx) => {
    const doc = await exportCustomer(app.domain, ctx.params.id);
    ctx.set('Content-Disposition', `attachment; filename="customer-${ctx.params.id}.json"`);
    ctx.body = doc;
  });

  router.post('/api/customers/:id/erase', async (ctx) => {
    ctx.body = await eraseCustomer(app.domain, ctx.params.id);
  });
}
