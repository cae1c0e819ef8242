// SMS webhooks — thin, and the same for every provider in SMS_PROVIDERS (channels/sms/index.ts):
// check the caller → read the raw body (256 KB cap) → let the provider module parse it into inbound
// items → commit them to the durable inbox → answer the provider exactly as its module declares →
// (enqueue). Each module declares its routes, e.g.
//   POST /webhooks/sms/tencent/:token  reply callback (one object) and status callback (array of reports)
//   POST /webhooks/sms/aliyun/:token   SmsUp and SmsReport HTTP batch pushes (arrays)
//   POST /webhooks/sms/twilio          inbound SMS and status callbacks (form-encoded, X-Twilio-Signature)
// A path-token route (the provider signs nothing) is protected by the unguessable path token (404
// when wrong or unset, compared in constant time); a signed route by its module's checks. Every
// refusal stores nothing.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InboundItem, InboundRequest } from '../channels/channel';
import { SMS_PROVIDERS, type SmsConfig } from '../channels/sms';
import type { SmsWebhook } from '../channels/sms/provider';
import type { AppContext } from '../src/context';
import { DomainError, NotFound, refused, Unavailable } from '../src/platform/errors';
import { maskPhone } from '../src/platform/logger';
import { readRawBody } from './body';
import { sameSecret, webhookRoute } from './http-errors';
import { storeInboundItems } from './inbound-webhook';

export const SMS_BODY_LIMIT = 256 * 1024;

const readBody = (ctx: Context): Promise<Buffer> => readRawBody(ctx, SMS_BODY_LIMIT);

export function registerSmsWebhooks(router: Router, app: AppContext): void {
  const cfg = app.config.sms;

  /** Commits the items, then answers; 503 when the inbox could not take them (the provider retries). */
  const store = async (ctx: Context, provider: string, items: InboundItem[], answer: () => void) => {
    if (items.length && !(await storeInboundItems(app, items))) throw new Unavailable('store_unavailable', 'the events could not be stored; please retry');
    answer();
    const phones = items.filter((i) => i.type === 'message').map((i) => maskPhone(i.from.phone));
    app.log.info({ provider, messages: phones.length, reports: items.length - phones.length, from: phones.slice(0, 5) }, 'sms webhook stored');
  };

  const checkToken = (ctx: Context) => {
    // a wrong or missing path token looks like any unknown route
    if (!sameSecret(ctx.params.token, cfg.webhookToken)) throw new NotFound(`no route for ${ctx.method} ${ctx.path.replace(/[^/]+$/, '…')}`);
  };

  for (const provider of SMS_PROVIDERS) {
    for (const hook of provider.webhooks as readonly SmsWebhook<SmsConfig>[]) {
      router.post(hook.path, webhookRoute(app, 'sms', provider.id, async (ctx) => {
        if (hook.auth.kind === 'path-token') checkToken(ctx);
        else {
          const refusal = hook.auth.precheck(ctx.headers, cfg);
          if (refusal) throw refused(refusal);
        }
        const raw = await readBody(ctx);
        if (hook.contentType && !ctx.is(hook.contentType)) throw new DomainError('invalid', 'bad_payload', `the body must be ${hook.contentType}`);
        // the URL the provider called: the configured public origin, or else the request's own as the
        // proxy reports it (X-Forwarded-Proto/Host; Koa 3's ctx.origin is the Origin header, not this)
        const url = `${cfg.publicBaseUrl ?? `${ctx.protocol}://${ctx.host}`}${ctx.originalUrl}`;
        const req: InboundRequest = { url, method: ctx.method, headers: ctx.headers, rawBody: raw };
        // a body that is not what the provider documents throws SmsPayloadError (kind invalid: 400)
        const outcome = hook.receive(req, cfg);
        if ('refused' in outcome) throw refused(outcome.refused);
        await store(ctx, provider.id, outcome.items, () => {
          ctx.status = 200;
          if (hook.ack.type) ctx.type = hook.ack.type;
          ctx.body = hook.ack.body;
        });
      }));
    }
  }
}
