// SMS webhooks — thin: check the caller → read the raw body (256 KB cap) → parse into inbound items
// → commit them to the durable inbox → answer the provider exactly as it expects → (enqueue).
//   POST /webhooks/sms/tencent/:token  reply callback (one object) and status callback (array of reports)
//   POST /webhooks/sms/aliyun/:token   SmsUp and SmsReport HTTP batch pushes (arrays)
//   POST /webhooks/sms/twilio          inbound SMS and status callbacks (form-encoded, X-Twilio-Signature)
// Tencent and Aliyun sign nothing: the unguessable path token is their protection (404 when wrong
// or unset, compared in constant time). Every refusal stores nothing.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InboundItem, InboundRequest } from '../channels/channel';
import { parseAliyunPush } from '../channels/sms/aliyun.sms';
import { SmsPayloadError } from '../channels/sms/common';
import { TWILIO_WEBHOOK_PATH } from '../channels/sms';
import { parseTencentCallback } from '../channels/sms/tencent.sms';
import { parseForm, parseTwilioWebhook, validateTwilioSignature } from '../channels/sms/twilio.sms';
import type { AppContext } from '../src/context';
import { maskPhone } from '../src/platform/logger';
import { readRawBody } from './body';
import { HttpError, sameSecret, webhookRoute } from './http-errors';
import { storeInboundItems } from './inbound-webhook';

export const SMS_BODY_LIMIT = 256 * 1024;

export const TENCENT_ACK = { result: 0, errmsg: 'OK' };
export const ALIYUN_ACK = { code: 0, msg: '接收成功' };
export const TWILIO_ACK = '<Response/>';



const readBody = (ctx: Context): Promise<Buffer> => readRawBody(ctx, SMS_BODY_LIMIT);

function inboundRequest(ctx: Context, url: string, rawBody: Buffer): InboundRequest {
  return { url, method: ctx.method, headers: ctx.headers, rawBody };
}

function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SmsPayloadError) throw new HttpError(400, 'bad_payload', err.message);
    throw err;
  }
}

export function registerSmsWebhooks(router: Router, app: AppContext): void {
  const cfg = app.config.sms;

  const guard = (provider: string, handler: (ctx: Context) => Promise<void>) => webhookRoute(app, 'sms', provider, handler);

  /** Commits the items, then answers; 503 when the inbox could not take them (the provider retries). */
  const store = async (ctx: Context, provider: string, items: InboundItem[], answer: () => void) => {
    if (items.length && !(await storeInboundItems(app, items))) throw new HttpError(503, 'store_unavailable', 'the events could not be stored; please retry');
    answer();
    const phones = items.filter((i) => i.type === 'message').map((i) => maskPhone(i.from.phone));
    app.log.info({ provider, messages: phones.length, reports: items.length - phones.length, from: phones.slice(0, 5) }, 'sms webhook stored');
  };

  const checkToken = (ctx: Context) => {
    // a wrong or missing path token looks like any unknown route
    if (!sameSecret(ctx.params.token, cfg.webhookToken)) throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path.replace(/[^/]+$/, '…')}`);
  };

  router.post('/webhooks/sms/tencent/:token', guard('tencent', async (ctx) => {
    checkToken(ctx);
    const raw = await readBody(ctx);
    const items = parse(() => parseTencentCallback(inboundRequest(ctx, ctx.href, raw)));
    await store(ctx, 'tencent', items, () => {
      ctx.status = 200;
      ctx.body = TENCENT_ACK;
    });
  }));

  router.post('/webhooks/sms/aliyun/:token', guard('aliyun', async (ctx) => {
    checkToken(ctx);
    const raw = await readBody(ctx);
    const items = parse(() => parseAliyunPush(inboundRequest(ctx, ctx.href, raw)));
    await store(ctx, 'aliyun', items, () => {
      ctx.status = 200;
      ctx.body = ALIYUN_ACK;
    });
  }));

  router.post(TWILIO_WEBHOOK_PATH, guard('twilio', async (ctx) => {
    const authToken = cfg.twilioAuthToken;
    if (!authToken) throw new HttpError(404, 'channel_off', 'not found');
    // Twilio's newer "Webhook Rules" signing (HMAC-SHA256) is not supported: refuse rather than half-check
    if (ctx.get('x-twilio-webhooks-signature-settings')) throw new HttpError(403, 'unsupported_signature', 'this signature scheme is not supported; use the X-Twilio-Signature scheme');
    const signature = ctx.get('x-twilio-signature');
    if (!signature) throw new HttpError(403, 'missing_signature', 'X-Twilio-Signature is required');
    const raw = await readBody(ctx);
    if (!ctx.is('application/x-www-form-urlencoded')) throw new HttpError(400, 'bad_payload', 'the body must be application/x-www-form-urlencoded');
    const params = parse(() => parseForm(raw.toString('utf8')));
    // the URL Twilio called: the configured public origin, or else the request's own as the proxy
    // reports it (X-Forwarded-Proto/Host; Koa 3's ctx.origin is the Origin header, not this)
    const url = `${cfg.publicBaseUrl ?? `${ctx.protocol}://${ctx.host}`}${ctx.originalUrl}`;
    if (!validateTwilioSignature(authToken, signature, url, params)) throw new HttpError(403, 'bad_signature', 'X-Twilio-Signature does not match');
    const items = parse(() => parseTwilioWebhook(inboundRequest(ctx, url, raw), params));
    await store(ctx, 'twilio', items, () => {
      ctx.status = 200;
      ctx.type = 'text/xml';
      ctx.body = TWILIO_ACK;
    });
  }));
}
