// The WeCom API client against the local fake WeCom and the real test Redis: the access token is
// cached in Redis and shared by every process, fetched by one caller at a time, refreshed and
// replayed once on a token error, one per secret; errors come back typed.
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { WeComApi, type TokenStore, type WeComApiOptions } from '../../channels/wecom/api';
import { WeComApiError, WeComTransportError } from '../../channels/wecom/errors';
import { startFakeWeCom, type FakeWeCom } from '../fakes/wecom-api.fake';
import { TEST_REDIS_URL } from '../support/env';

const CORP = 'wwcorp0001';
const EXT = 'wmEXT000000000000000000000001';

const tokenKey = (secret: string) => `wecom:token:${CORP}:${createHash('sha1').update(secret).digest('hex').slice(0, 8)}`;

describe('WeComApi', () => {
  let fake: FakeWeCom;
  const redises: Redis[] = [];

  /** A Redis connection of its own: each one stands for a separate process. */
  function process(secrets: { contact?: string | null; agent?: string | null; kf?: string | null } = {}, opts: Partial<WeComApiOptions> = {}) {
    const redis = new Redis(TEST_REDIS_URL);
    redises.push(redis);
    return new WeComApi(
      { apiBase: fake.base, corpId: CORP, store: redis as unknown as TokenStore, ...opts },
      { contact: 'contact-secret', agent: 'agent-secret', kf: 'agent-secret', ...secrets },
    );
  }
  const gettokens = (secret?: string) => fake.calls.filter((c) => c.path === 'gettoken' && (!secret || c.query.corpsecret === secret));
  const calls = (path: string) => fake.calls.filter((c) => c.path === path);

  beforeEach(async () => {
    fake = await startFakeWeCom(CORP);
    fake.contacts.set(EXT, { external_contact: { external_userid: EXT, name: '王哥' }, follow_user: [{ userid: 'zhangsan', remark: 'r' }] });
    const r = new Redis(TEST_REDIS_URL);
    await r.flushdb();
    await r.quit();
  });
  afterEach(async () => {
    await Promise.all(redises.splice(0).map((r) => r.quit()));
    await fake.close();
  });

  it('caches the access token in Redis, shared by every process', async () => {
    const a = process();
    const b = process();
    expect((await a.getExternalContact(EXT)).external_contact.name).toBe('王哥');
    expect((await b.getExternalContact(EXT)).external_contact.name).toBe('王哥');
    await a.getExternalContact(EXT);
    expect(gettokens()).toHaveLength(1);
    const used = calls('externalcontact/get').map((c) => c.query.access_token);
    expect(new Set(used).size).toBe(1);

    const redis = redises[0];
    expect(await redis.get(tokenKey('contact-secret'))).toBe(used[0]);
    // kept for expires_in (7200 s) less a safety margin, never longer
    const ttl = await redis.pttl(tokenKey('contact-secret'));
    expect(ttl).toBeGreaterThan(6000_000);
    expect(ttl).toBeLessThanOrEqual(7200_000 - 60_000);
    // the refresh lock is released
    expect(await redis.exists(`${tokenKey('contact-secret')}:lock`)).toBe(0);
  });

  it('fetches the token once when many callers in two processes find the cache cold', async () => {
    const a = process();
    const b = process();
    const held = fake.hold('gettoken'); // make every caller arrive before the first token does
    const all = Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).getExternalContact(EXT)));
    await new Promise((r) => setTimeout(r, 150));
    held.release();
    const results = await all;
    expect(results).toHaveLength(20);
    expect(gettokens()).toHaveLength(1);
    expect(new Set(calls('externalcontact/get').map((c) => c.query.access_token)).size).toBe(1);
  });

  it('takes over the refresh when the lock holder has gone away', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    redises.push(redis);
    // a process took the lock and died before writing a token
    await redis.set(`${tokenKey('contact-secret')}:lock`, 'someone-else', 'PX', 60_000);
    const a = process({}, { lockWaitMs: 200 });
    expect((await a.getExternalContact(EXT)).external_contact.name).toBe('王哥');
    expect(gettokens()).toHaveLength(1);
  });

  it('refreshes and replays once when the token has expired (42001)', async () => {
    const a = process();
    await a.getExternalContact(EXT);
    const first = calls('externalcontact/get')[0].query.access_token;
    fake.expireTokens();
    expect((await a.getExternalContact(EXT)).external_contact.name).toBe('王哥');
    expect(gettokens()).toHaveLength(2);
    const used = calls('externalcontact/get').map((c) => c.query.access_token);
    expect(used).toEqual([first, first, expect.not.stringMatching(first)]);
    expect(await redises[0].get(tokenKey('contact-secret'))).toBe(used[2]);
  });

  it('refreshes and replays once when WeCom does not know the token (40014)', async () => {
    const a = process();
    await redises[0].set(tokenKey('contact-secret'), 'a-token-wecom-never-issued', 'PX', 60_000);
    expect((await a.getExternalContact(EXT)).external_contact.name).toBe('王哥');
    expect(gettokens()).toHaveLength(1);
    expect(calls('externalcontact/get').map((c) => c.query.access_token)).toEqual(['a-token-wecom-never-issued', expect.stringMatching(/^tok-/)]);
  });

  it('replays only once: a second token error is thrown, not looped on', async () => {
    const a = process();
    fake.failNext('externalcontact/get', { errcode: 42001, errmsg: 'access_token expired' }, 5);
    const err = await a.getExternalContact(EXT).catch((e) => e);
    expect(err).toBeInstanceOf(WeComApiError);
    expect(err.code).toBe(42001);
    expect(calls('externalcontact/get')).toHaveLength(2);
    expect(gettokens()).toHaveLength(2);
  });

  it('throws a typed WeComApiError with the code and message WeCom answered', async () => {
    const a = process();
    const unknown = await a.getExternalContact('wmNOBODY').catch((e) => e);
    expect(unknown).toBeInstanceOf(WeComApiError);
    expect(unknown).toMatchObject({ code: 84061, apiMessage: 'not external contact', path: 'externalcontact/get' });
    expect(unknown.message).toContain('84061');
    expect(unknown.isTransient).toBe(false);

    fake.failNext('externalcontact/get', { errcode: -1, errmsg: 'system busy' });
    const busy = await a.getExternalContact(EXT).catch((e) => e);
    expect(busy).toBeInstanceOf(WeComApiError);
    expect(busy).toMatchObject({ code: -1, apiMessage: 'system busy' });
    expect(busy.isTransient).toBe(true);
    // not retried inside the client: the job retries it later
    expect(calls('externalcontact/get')).toHaveLength(2);

    // some gateways send the code as a string
    fake.failNext('externalcontact/get', { errcode: '45009', errmsg: 'api freq out of limit' });
    const limited = await a.getExternalContact(EXT).catch((e) => e);
    expect(limited).toMatchObject({ code: 45009 });
    expect(limited.isTransient).toBe(true);
  });

  it('surfaces a bad secret (40001) as WeComApiError and does not hammer gettoken', async () => {
    const a = process({ contact: 'wrong-secret' });
    const b = process({ contact: 'wrong-secret' });
    const errors = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).getExternalContact(EXT).catch((e) => e)));
    for (const err of errors) {
      expect(err).toBeInstanceOf(WeComApiError);
      expect(err).toMatchObject({ code: 40001, path: 'gettoken' });
      expect(err.message).not.toContain('wrong-secret');
    }
    // and again a moment later: WeCom bans an IP that keeps sending a bad secret
    expect(await a.getExternalContact(EXT).catch((e) => e)).toMatchObject({ code: 40001 });
    expect(gettokens('wrong-secret')).toHaveLength(1);
    expect(calls('externalcontact/get')).toHaveLength(0);
    expect(await redises[0].exists(tokenKey('wrong-secret'))).toBe(0);

    // a corrected secret is a different cache entry and works at once
    const fixed = process({ contact: 'contact-secret' });
    expect((await fixed.getExternalContact(EXT)).external_contact.name).toBe('王哥');
  });

  it('keeps one token per secret (customer contact vs self-built app)', async () => {
    const a = process();
    await a.getExternalContact(EXT);
    await a.kfSyncMsg({ open_kfid: 'wkKF001' });
    await a.agent!.call('kf/sync_msg', { open_kfid: 'wkKF001' });
    expect(gettokens('contact-secret')).toHaveLength(1);
    expect(gettokens('agent-secret')).toHaveLength(1); // kf and agent share the app secret here
    const contactToken = calls('externalcontact/get')[0].query.access_token;
    const kfTokens = calls('kf/sync_msg').map((c) => c.query.access_token);
    expect(kfTokens[0]).toBe(kfTokens[1]);
    expect(kfTokens[0]).not.toBe(contactToken);
    expect(tokenKey('contact-secret')).not.toBe(tokenKey('agent-secret'));
    expect(await redises[0].get(tokenKey('contact-secret'))).toBe(contactToken);
    expect(await redises[0].get(tokenKey('agent-secret'))).toBe(kfTokens[0]);

    // expiring one secret's token leaves the other's cache alone
    await redises[0].del(tokenKey('agent-secret'));
    await a.getExternalContact(EXT);
    expect(gettokens('contact-secret')).toHaveLength(1);
  });

  it('turns HTTP errors, non-JSON answers, timeouts and an unreachable host into WeComTransportError', async () => {
    const a = process({}, { timeoutMs: 300 });
    await a.getExternalContact(EXT); // token cached

    fake.failHttpNext('externalcontact/get', 502, '<html>Bad Gateway</html>');
    const bad = await a.getExternalContact(EXT).catch((e) => e);
    expect(bad).toBeInstanceOf(WeComTransportError);
    expect(bad).toMatchObject({ status: 502, path: 'externalcontact/get' });

    // an error status fails even when the body looks like an envelope
    fake.failHttpNext('externalcontact/get', 500, '{"errcode":0,"errmsg":"ok"}');
    expect(await a.getExternalContact(EXT).catch((e) => e)).toMatchObject({ name: 'WeComTransportError', status: 500 });

    fake.failHttpNext('externalcontact/get', 200, '<html>captive portal</html>');
    const html = await a.getExternalContact(EXT).catch((e) => e);
    expect(html).toBeInstanceOf(WeComTransportError);
    expect(html.message).toMatch(/not JSON/);

    const held = fake.hold('externalcontact/get');
    const slow = await a.getExternalContact(EXT).catch((e) => e);
    held.release();
    expect(slow).toBeInstanceOf(WeComTransportError);

    // gettoken failing at the HTTP level caches nothing
    const b = process({ contact: 'contact-secret', agent: 'agent-secret' });
    fake.failHttpNext('gettoken', 503, 'Service Unavailable');
    const noToken = await b.kfSyncMsg({ open_kfid: 'wkKF001' }).catch((e) => e);
    expect(noToken).toBeInstanceOf(WeComTransportError);
    expect(noToken).toMatchObject({ status: 503, path: 'gettoken' });
    expect(await redises[0].exists(tokenKey('agent-secret'))).toBe(0);
    expect((await b.kfSyncMsg({ open_kfid: 'wkKF001' })).has_more).toBe(0);

    const gone = process({}, { apiBase: 'http://127.0.0.1:9' });
    await redises[0].del(tokenKey('contact-secret'));
    const unreachable = await gone.getExternalContact(EXT).catch((e) => e);
    expect(unreachable).toBeInstanceOf(WeComTransportError);
    expect(unreachable.message).not.toContain('contact-secret');
  });
});
