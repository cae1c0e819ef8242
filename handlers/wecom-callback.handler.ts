// /webhooks/wecom — GET: URL verification (verify → decrypt echostr → answer its plaintext).
// POST: read raw body → verify signature and timestamp → decrypt → check receive id → parse XML →
// commit to the durable inbox → answer 200 empty → enqueue. No WeCom API call on this path.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { decryptMessage, verifySignature } from '../channels/wecom/crypto';
import { wecomDedupKey, wecomEventType } from '../channels/wecom/event';
import { parseWeComXmlRequest, text } from '../channels/wecom/xml';
import type { AppContext } from '../src/context';
import { DomainError, NotFound, Unavailable } from '../src/platform/errors';
import { readRawBody } from './body';
import { webhookRoute } from './http-errors';
import { storeInbound } from './inbound-webhook';

const BODY_LIMIT = 1024 * 1024;

function one(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

export function registerWeComCallback(router: Router, app: AppContext): void {
  const cfg = app.config.wecom;

  const checkQuery = (ctx: Context, encrypted: string) => {
    const signature = one(ctx.query.msg_signature);
    const timestamp = one(ctx.query.timestamp);
    const nonce = one(ctx.query.nonce);
    if (!signature || !timestamp || !nonce) throw new DomainError('invalid', 'missing_params', 'msg_signature, timestamp and nonce are required');
    if (!/^\d{1,12}$/.test(timestamp)) throw new DomainError('invalid', 'bad_timestamp', 'timestamp must be unix seconds');
    if (!verifySignature(cfg.token, timestamp, nonce, encrypted, signature)) throw new DomainError('unauthorized', 'bad_signature', 'msg_signature does not match');
    if (cfg.replayWindowSeconds > 0 && Math.abs(app.now().getTime() / 1000 - Number(timestamp)) > cfg.replayWindowSeconds) {
      throw new DomainError('unauthorized', 'stale_timestamp', `timestamp is more than ${cfg.replayWindowSeconds}s away from now`);
    }
  };

  // a WeComCryptoError is a refusal: 401 for another corp's message, 400 for what cannot be opened
  const decrypt = (encrypted: string) => decryptMessage(cfg.encodingAesKey, encrypted, cfg.corpId);

  const guard = (route: string, handler: (ctx: Context) => Promise<void>) => {
    const wrapped = webhookRoute(app, 'wecom', route, handler);
    return async (ctx: Context) => {
      // not counted as a rejected callback: there is no WeCom channel to count it for
      if (!cfg.enabled) throw new NotFound('WeCom callbacks are not configured on this server', 'channel_off');
      await wrapped(ctx);
    };
  };

  router.get('/webhooks/wecom', guard('verify', async (ctx) => {
    // a raw '+' in echostr may have been decoded to a space by the query parser: base64 has no spaces
    const echostr = one(ctx.query.echostr).replace(/ /g, '+');
    if (!echostr) throw new DomainError('invalid', 'missing_params', 'echostr is required');
    checkQuery(ctx, echostr);
    ctx.type = 'text/plain';
    ctx.body = decrypt(echostr);
  }));

  router.post('/webhooks/wecom', guard('callback', async (ctx) => {
    const body = (await readRawBody(ctx, BODY_LIMIT)).toString('utf8');
    const envelope = await parseWeComXmlRequest(body);
    const encrypted = text(envelope, 'Encrypt');
    if (!encrypted) throw new DomainError('invalid', 'bad_xml', 'the body has no <Encrypt> element');
    checkQuery(ctx, encrypted);
    const plaintext = decrypt(encrypted);
    const msg = await parseWeComXmlRequest(plaintext, 'decrypted message');
    if (!text(msg, 'MsgType')) throw new DomainError('invalid', 'bad_xml', 'decrypted message has no MsgType');

    const stored = await storeInbound(app, [
      { channel: 'wecom', type: wecomEventType(msg).slice(0, 96), dedupKey: wecomDedupKey(msg), payload: msg, receivedAt: app.now() },
    ]);
    if (!stored) throw new Unavailable('store_unavailable', 'the event could not be stored; please retry');
    ctx.status = 200;
    ctx.body = '';
  }));
}
