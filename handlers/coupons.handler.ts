// /api/coupons — the till: auth (router-level) → parse (400 naming the field) → domain → JSON.
//   POST /api/coupons/validate { code, customer: { phone?, email?, wecomExternalUserId?, unionid? }, total }
//        → 200 { valid, reason?, value, expiresAt, minSpend } (reasons: unknown, expired, redeemed,
//          wrong_customer, below_minimum_spend); writes nothing
//   POST /api/coupons/redeem   { code, orderId, customer, total }
//        → 200 { redeemed: true, orderId, value, campaign }, idempotent on orderId; a refusal is 409
//          with code coupon_<reason>
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { parseTillQuestion, redeemAtTill, validateAtTill } from '../src/orders/till';
import { readJson } from './body';

export function registerCouponRoutes(router: Router, app: AppContext): void {
  router.post('/api/coupons/validate', async (ctx) => {
    ctx.body = await validateAtTill(app.domain, parseTillQuestion(await readJson(ctx)));
  });
  router.post('/api/coupons/redeem', async (ctx) => {
    ctx.body = await redeemAtTill(app.domain, await readJson(ctx));
  });
}
