// Inbound email webhooks: read the raw body (≤ 25 MB) → check the path token or the signature →
// parse into one email item → commit it to the durable inbox → answer 200 → enqueue.
//   POST /webhooks/email/raw/:token        the raw RFC 822 message as the body, any Content-Type
//                                          (the China path: our own MX / IMAP poller posts it)
//   POST /webhooks/email/mailgun           Mailgun Routes forward(), signature checked
//   POST /webhooks/email/sendgrid/:token   SendGrid Inbound Parse, raw mode
// Wrong or unset token → 404 (as if the route did not exist); bad or missing Mailgun signature →
// 401; unreadable form or MIME → 400; body over 25 MB → 413; store down → 503. Nothing is stored
// unless the answer is 200.
// Why 401 and not 406 for a bad Mailgun signature: 406 tells Mailgun to drop the message for good.
// A forger does not care which code it gets, but a genuine post failing our check (a rotated or
// mistyped MAILGUN_SIGNING_KEY) should stay in Mailgun's retry schedule (8 h) while the key is fixed.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InboundRequest } from '../channels/channel';
import { FormError } from '../channels/email/form';
import { parseMailgunRequest, SignatureError } from '../channels/email/mailgun.email';
import { MimeError, parseRawEmail, type InboundEmailItem } from '../channels/email/mime';
import { parseSendGridRequest } from '../channels/email/sendgrid.email';
import type { AppContext } from '../src/context';
import { maskEmail } from '../src/platform/logger';
import { readRawBody } from './body';
import { HttpError, sameSecret, webhookRoute } from './http-errors';
import { storeInboundItems } from './inbound-webhook';

export const EMAIL_BODY_LIMIT = 25 * 1024 * 1024;




export function registerEmailWebhooks(router: Router, app: AppContext): void {
  const cfg = app.config.email;

  const readBody = async (ctx: Context): Promise<Buffer> => {
    try {
      return await readRawBody(ctx, EMAIL_BODY_LIMIT);
    } catch (err) {
      if (err instanceof HttpError) throw new HttpError(err.status, err.code, err.message);
      throw err;
    }
  };

  const inbound = (ctx: Context, rawBody: Buffer): InboundRequest => ({ url: ctx.href, method: ctx.method, headers: ctx.headers, rawBody });

  /** Parser errors → answers; anything else is ours (500). */
  const parsing = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof FormError) throw new HttpError(400, 'bad_form', err.message);
      if (err instanceof MimeError) throw new HttpError(400, 'bad_mime', err.message);
      if (err instanceof SignatureError) throw new HttpError(401, err.reason, err.message);
      throw err;
    }
  };

  const store = async (ctx: Context, item: InboundEmailItem) => {
    if (!(await storeInboundItems(app, [item]))) throw new HttpError(503, 'store_unavailable', 'the message could not be stored; please retry');
    ctx.status = 200;
    ctx.body = { ok: true };
    app.log.info(
      { provider: item.provider, from: maskEmail(item.from.email), attachments: item.attachments?.length ?? 0, truncated: item.truncated, threaded: Boolean(item.thread?.inReplyTo) },
      'inbound email stored',
    );
  };

  const guard = (route: string, handler: (ctx: Context) => Promise<void>) => webhookRoute(app, 'email', route, handler);

  /** A wrong or unset path token looks exactly like a route that does not exist. */
  const checkToken = (ctx: Context) => {
    if (!sameSecret(ctx.params.token, cfg.webhookToken)) throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path.replace(/[^/]+$/, ':token')}`);
  };

  router.post('/webhooks/email/raw/:token', guard('raw', async (ctx) => {
    checkToken(ctx);
    const body = await readBody(ctx);
    const item = await parsing(() => parseRawEmail(body, 'rfc822'));
    await store(ctx, item);
  }));

  router.post('/webhooks/email/sendgrid/:token', guard('sendgrid', async (ctx) => {
    checkToken(ctx);
    const body = await readBody(ctx);
    const item = await parsing(() => parseSendGridRequest(inbound(ctx, body), { fieldSize: EMAIL_BODY_LIMIT }));
    await store(ctx, item);
  }));

  router.post('/webhooks/email/mailgun', guard('mailgun', async (ctx) => {
    if (!cfg.mailgunSigningKey) throw new HttpError(404, 'channel_off', 'Mailgun inbound email is not configured on this server');
    const body = await readBody(ctx);
    const { item, token } = await parsing(() =>
      parseMailgunRequest(inbound(ctx, body), { signingKey: cfg.mailgunSigningKey!, maxAgeSeconds: cfg.mailgunMaxAgeSeconds, now: app.now(), fieldSize: EMAIL_BODY_LIMIT }),
    );
    // The signature covers timestamp + token, not the mail: a captured request could carry another
    // mail under the same signature while it is fresh. So the first mail seen with a token owns it;
    // Mailgun's retries resend the same signature block with the same mail and still pass.
    const key = `touchpoint:email:mailgun-token:${token}`;
    let owner: string | null;
    try {
      const claimed = await app.redis.set(key, item.dedupKey, 'EX', cfg.mailgunMaxAgeSeconds * 2 + 60, 'NX');
      owner = claimed ? item.dedupKey : await app.redis.get(key);
    } catch (err) {
      app.log.error({ err: (err as Error).message }, 'redis unavailable for the mailgun token check; answering 503 so Mailgun retries');
      throw new HttpError(503, 'store_unavailable', 'the message could not be checked; please retry');
    }
    if (owner !== null && owner !== item.dedupKey) throw new HttpError(401, 'replayed_token', 'this signature token was already used for another message');
    await store(ctx, item);
  }));
}
