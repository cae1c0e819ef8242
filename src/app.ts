// Builds the Koa app (no listen): webhooks, the admin API, health and metrics.
import Router from '@koa/router';
import Koa from 'koa';
import { adminAuth } from '../handlers/admin-auth';
import { registerCampaignRoutes } from '../handlers/campaigns.handler';
import { registerCustomerRoutes } from '../handlers/customers.handler';
import { registerEmailWebhooks } from '../handlers/email-webhooks.handler';
import { registerEventRoutes } from '../handlers/events.handler';
import { registerHealthRoutes } from '../handlers/health.handler';
import { HttpError } from '../handlers/body';
import { fail } from '../handlers/http-errors';
import { registerMessageRoutes } from '../handlers/messages.handler';
import { registerOrderRoutes } from '../handlers/orders.handler';
import { registerPolicyRoutes } from '../handlers/policy.handler';
import { queueBoard } from '../handlers/queue-board.handler';
import { registerOrdersWebhook } from '../handlers/orders-webhook.handler';
import { registerSmsWebhooks } from '../handlers/sms-webhooks.handler';
import { registerUnsubscribe } from '../handlers/unsubscribe.handler';
import { registerWeComCallback } from '../handlers/wecom-callback.handler';
import type { AppContext } from './context';
import { BadRequest } from './platform/paging';

export function createApp(app: AppContext): Koa {
  const koa = new Koa({ proxy: true });
  koa.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) fail(ctx, 404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      if (err instanceof BadRequest) return fail(ctx, 400, 'bad_request', `${err.field}: ${err.message}`);
      if (err instanceof HttpError) return fail(ctx, err.status, err.code, err.message);
      app.log.error({ err, path: ctx.path, method: ctx.method }, 'request failed');
      fail(ctx, 500, 'internal', 'internal error');
    }
  });

  koa.use(queueBoard(app));

  const router = new Router();
  registerHealthRoutes(router, app);
  registerWeComCallback(router, app);
  registerSmsWebhooks(router, app);
  registerEmailWebhooks(router, app);
  registerUnsubscribe(router, app);
  registerOrdersWebhook(router, app);
  router.use('/api', adminAuth(app.config.adminToken));
  registerCustomerRoutes(router, app);
  registerEventRoutes(router, app);
  registerMessageRoutes(router, app);
  registerPolicyRoutes(router, app);
  registerOrderRoutes(router, app);
  registerCampaignRoutes(router, app);
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  return koa;
}
