// Inbound email webhooks, the same for every provider in EMAIL_INBOUND_PROVIDERS
// (channels/email/inbound.ts): check the path token or let the module check the signature → read
// the raw body (≤ 25 MB) → let the module parse it into one email item → commit it to the durable
// inbox → answer 200 with the module's acknowledgement → enqueue. Each module declares its route:
//   POST /webhooks/email/raw/:token        the raw RFC 822 message as the body, any Content-Type
//                                          (the China path: our own MX / IMAP poller posts it)
//   POST /webhooks/email/mailgun           Mailgun Routes forward(), signature checked
//   POST /webhooks/email/sendgrid/:token   SendGrid Inbound Parse, raw mode
// Wrong or unset token → 404 (as if the route did not exist); a refused signature → the kind the
// module gives it (Mailgun: unauthorized, 401; see channels/email/mailgun.email.ts); unreadable form
// or MIME → 400; body over 25 MB → 413; store down → 503 (src/app.ts maps every kind to its status).
// Nothing is stored unless the answer is 200.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InboundRequest } from '../channels/channel';
import { EMAIL_INBOUND_PROVIDERS } from '../channels/email/inbound';
import type { InboundEmailItem } from '../channels/email/mime';
import type { EmailWebhook } from '../channels/email/provider';
import type { EmailConfig } from '../config/email';
import type { AppContext } from '../src/context';
import { DomainError, NotFound, refused, Unavailable } from '../src/platform/errors';
import { maskEmail } from '../src/platform/logger';
import { readRawBody } from './body';
import { sameSecret, webhookRoute } from './http-errors';
import { storeInboundItems } from './inbound-webhook';

export const EMAIL_BODY_LIMIT = 25 * 1024 * 1024;

export function registerEmailWebhooks(router: Router, app: AppContext): void {
  const cfg = app.config.email;

  const readBody = (ctx: Context): Promise<Buffer> => readRawBody(ctx, EMAIL_BODY_LIMIT);

  const inbound = (ctx: Context, rawBody: Buffer): InboundRequest => ({ url: ctx.href, method: ctx.method, headers: ctx.headers, rawBody });

  const store = async (ctx: Context, item: InboundEmailItem, ack: Record<string, unknown>) => {
    if (!(await storeInboundItems(app, [item]))) throw new Unavailable('store_unavailable', 'the message could not be stored; please retry');
    ctx.status = 200;
    ctx.body = ack;
    app.log.info(
      { provider: item.provider, from: maskEmail(item.from.email), attachments: item.attachments?.length ?? 0, truncated: item.truncated, threaded: Boolean(item.thread?.inReplyTo) },
      'inbound email stored',
    );
  };

  /**
   * A signature that covers a token but not the mail: a captured request could carry another mail
   * under the same signature while it is fresh. So the first mail seen with a token owns it; the
   * provider's retries resend the same signature block with the same mail and still pass.
   */
  const claimToken = async (provider: { id: string; label: string }, singleUse: { token: string; ttlSeconds: number }, item: InboundEmailItem) => {
    const key = `touchpoint:email:${provider.id}-token:${singleUse.token}`;
    let owner: string | null;
    try {
      const claimed = await app.redis.set(key, item.dedupKey, 'EX', singleUse.ttlSeconds, 'NX');
      owner = claimed ? item.dedupKey : await app.redis.get(key);
    } catch (err) {
      app.log.error({ err: (err as Error).message }, `redis unavailable for the ${provider.id} token check; answering 503 so ${provider.label} retries`);
      throw new Unavailable('store_unavailable', 'the message could not be checked; please retry');
    }
    if (owner !== null && owner !== item.dedupKey) throw new DomainError('unauthorized', 'replayed_token', 'this signature token was already used for another message');
  };

  const guard = (route: string, handler: (ctx: Context) => Promise<void>) => webhookRoute(app, 'email', route, handler);

  /** A wrong or unset path token looks exactly like a route that does not exist. */
  const checkToken = (ctx: Context) => {
    if (!sameSecret(ctx.params.token, cfg.webhookToken)) throw new NotFound(`no route for ${ctx.method} ${ctx.path.replace(/[^/]+$/, ':token')}`);
  };

  for (const provider of EMAIL_INBOUND_PROVIDERS) {
    const hook = provider.webhook as EmailWebhook<EmailConfig>;
    router.post(hook.path, guard(provider.id, async (ctx) => {
      if (hook.auth.kind === 'path-token') checkToken(ctx);
      else {
        const refusal = hook.auth.precheck(cfg);
        if (refusal) throw refused(refusal);
      }
      const body = await readBody(ctx);
      // an unreadable form or message throws FormError / MimeError (kind invalid: 400)
      const outcome = await hook.receive(inbound(ctx, body), cfg, { now: app.now(), fieldSize: EMAIL_BODY_LIMIT });
      if ('refused' in outcome) throw refused(outcome.refused);
      if (outcome.singleUse) await claimToken(provider, outcome.singleUse, outcome.item);
      await store(ctx, outcome.item, hook.ack.body);
    }));
  }
}
