// Builds the Koa app (no listen): webhooks, the admin API, health and metrics.
import Router from '@koa/router';
import Koa from 'koa';
import { adminAuth } from '../handlers/admin-auth';
import { registerCampaignRoutes } from '../handlers/campaigns.handler';
import { registerCouponRoutes } from '../handlers/coupons.handler';
import { registerCustomerRoutes } from '../handlers/customers.handler';
import { registerEmailWebhooks } from '../handlers/email-webhooks.handler';
import { registerEventRoutes } from '../handlers/events.handler';
import { registerHealthRoutes } from '../handlers/health.handler';
import { registerMessageRoutes } from '../handlers/messages.handler';
import { registerOrderRoutes } from '../handlers/orders.handler';
import { registerPolicyRoutes } from '../handlers/policy.handler';
import { registerPrivacyRoutes } from '../handlers/privacy.handler';
import { queueBoard } from '../handlers/queue-board.handler';
import { registerOrdersWebhook } from '../handlers/orders-webhook.handler';
import { registerSmsWebhooks } from '../handlers/sms-webhooks.handler';
import { registerUnsubscribe } from '../handlers/unsubscribe.handler';
import { registerWeComCallback } from '../handlers/wecom-callback.handler';
import type { AppContext } from './context';
import { NotFound, refusalOf, type ErrorKind } from './platform/errors';

/** The one error map: a refusal's kind → its HTTP status. */
export const STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  unavailable: 503,
};

export interface ErrorAnswer {
  status: number;
  body: { error: { code: string; message: string } };
}

/** A refusal's answer: its kind's status and `{ error: { code, message } }` (`<field>: <message>` when it names a field); null for a fault. */
export function errorAnswer(err: unknown): ErrorAnswer | null {
  const r = refusalOf(err);
  if (!r) return null;
  return { status: STATUS_OF[r.kind], body: { error: { code: r.code, message: r.field ? `${r.field}: ${r.message}` : r.message } } };
}

const INTERNAL: ErrorAnswer = { status: 500, body: { error: { code: 'internal', message: 'internal error' } } };

export function createApp(app: AppContext): Koa {
  const koa = new Koa({ proxy: true });
  // every error answer is made here, from the error's kind: no route converts errors itself
  koa.use(async (ctx, next) => {
    let answer: ErrorAnswer | null;
    try {
      await next();
      if (ctx.status !== 404 || ctx.body !== undefined) return;
      answer = errorAnswer(new NotFound(`no route for ${ctx.method} ${ctx.path}`));
    } catch (err) {
      answer = errorAnswer(err);
      if (!answer) app.log.error({ err, path: ctx.path, method: ctx.method }, 'request failed');
    }
    ctx.status = (answer ?? INTERNAL).status;
    ctx.body = (answer ?? INTERNAL).body;
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
  registerPrivacyRoutes(router, app);
  registerCouponRoutes(router, app);
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  return koa;
}
