// /api/orders: auth (router-level) → CSV stream → domain import → JSON report.
//   POST /api/orders/import   body: CSV, one row per order item (see src/order-import.ts)
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { importOrders } from '../src/orders/order-import';
import { csvUpload } from './csv-upload';

export function registerOrderRoutes(router: Router, app: AppContext): void {
  router.post('/api/orders/import', async (ctx) => {
    const input = csvUpload(ctx);
    ctx.body = await importOrders(app.domain, input, { timeZone: app.config.storeTimezone });
  });
}
