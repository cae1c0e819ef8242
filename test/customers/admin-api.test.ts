// The admin read API over HTTP, against the real database: auth, customer search and paging,
// profiles, timelines, identities, the event inbox; plus /healthz and /metrics.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Redis from 'ioredis';
import pino from 'pino';
import { createContext, type AppContext } from '../../src/context';
import { resolveCustomer, updateCustomer, type IdentityRef } from '../../src/customers/customers';
import { normalizeEmail, normalizePhone } from '../../src/customers/identity';
import { startServer } from '../../src/server';
import { markWecomTagsDeleted, replaceStaffWecomTags, upsertWecomTag } from '../../src/customers/tags';
import { appendTimeline } from '../../src/customers/timeline';
import { inTransaction } from '../../src/platform/tx';
import { ADMIN_TOKEN, startHarness, testConfig, waitFor, wecomEventXml, type Harness } from '../support/harness';

interface NewCustomer {
  name?: string;
  phone?: string;
  email?: string;
  wecom?: string;
  tags?: string[];
}

let autoId = 0;

/** Creates a customer through our own domain functions (the path the worker takes). */
async function addCustomer(h: Harness, c: NewCustomer): Promise<string> {
  return inTransaction(h.app.db, async (em) => {
    const now = new Date();
    const ids: IdentityRef[] = [{ channel: 'wecom', externalId: c.wecom ?? `wmAUTO${++autoId}` }];
    if (c.phone) ids.push({ channel: 'phone', externalId: normalizePhone(c.phone)! });
    if (c.email) ids.push({ channel: 'email', externalId: normalizeEmail(c.email)! });
    const { customerId } = await resolveCustomer(em, ids, now, now);
    if (c.name) await updateCustomer(em, customerId, { name: c.name }, now);
    const tagIds: string[] = [];
    for (const t of c.tags ?? []) tagIds.push(await upsertWecomTag(em, { wecomId: `et-${t}`, name: t, groupName: '等级' }, now));
    if (tagIds.length) await replaceStaffWecomTags(em, customerId, 'zhangsan', tagIds, now);
    return customerId;
  });
}

async function addTimeline(h: Harness, customerId: string, entries: { at: Date; text: string }[]) {
  await inTransaction(h.app.db, async (em) => {
    for (const [i, e] of entries.entries()) {
      await appendTimeline(
        em,
        { customerId, channel: 'wecom', direction: 'in', kind: 'text', text: e.text, occurredAt: e.at, providerId: `test:${customerId}:${i}:${e.text}` },
        new Date(),
      );
    }
  });
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...body.error };
}

const q = (params: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();

const API_ROUTES: [string, string][] = [
  ['GET', '/api/customers'],
  ['GET', '/api/customers/1'],
  ['GET', '/api/customers/1/timeline'],
  ['GET', '/api/identities/wecom/wmX'],
  ['GET', '/api/events'],
  ['POST', '/api/events/1/retry'],
  ['GET', '/api/customers/1/consents'],
  ['GET', '/api/deliveries'],
];

describe('admin API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  describe('auth', () => {
    it.each(API_ROUTES)('%s %s needs the bearer token', async (method, path) => {
      const none = await h.request(path, { method, auth: false });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await errorOf(none)).code).toBe('unauthorized');

      for (const authorization of [`Bearer ${ADMIN_TOKEN}x`, `Bearer ${ADMIN_TOKEN.toUpperCase()}`, `Basic ${ADMIN_TOKEN}`, ADMIN_TOKEN, 'Bearer ']) {
        const wrong = await h.request(path, { method, auth: false, headers: { authorization } });
        expect(wrong.status).toBe(401);
      }
    });

    it('accepts the token with any case of the Bearer scheme', async () => {
      for (const scheme of ['Bearer', 'bearer']) {
        const res = await h.request('/api/events', { auth: false, headers: { authorization: `${scheme} ${ADMIN_TOKEN}` } });
        expect(res.status).toBe(200);
      }
    });

    it('guards /api whatever the spelling of the path', async () => {
      for (const path of ['/API/customers', '/api/customers/', '/Api/events', '/api//customers', '/api/customers/1/']) {
        const res = await h.request(path, { auth: false });
        expect([401, 404]).toContain(res.status);
        expect(await res.text()).not.toMatch(/"items"|"nextCursor"/);
      }
    });

    it('leaves /healthz and /metrics open (they carry no customer data)', async () => {
      expect((await h.request('/healthz')).status).toBe(200);
      expect((await h.request('/metrics')).status).toBe(200);
    });
  });

  describe('with ADMIN_TOKEN unset', () => {
    let off: Harness;
    beforeAll(async () => {
      off = await startHarness({ env: { ADMIN_TOKEN: '' }, reset: false });
    });
    afterAll(() => off.close());

    it('has no admin token in the config and notes it', () => {
      expect(off.config.adminToken).toBeNull();
      expect(off.config.notices.join('\n')).toMatch(/ADMIN_TOKEN/);
    });

    it.each(API_ROUTES)('%s %s answers 503, with or without a token', async (method, path) => {
      for (const headers of [{}, { authorization: `Bearer ${ADMIN_TOKEN}` }, { authorization: 'Bearer ' }] as Record<string, string>[]) {
        const res = await off.request(path, { method, auth: false, headers });
        expect(res.status).toBe(503);
        const err = await errorOf(res);
        expect(err.code).toBe('admin_disabled');
        expect(err.message).toMatch(/ADMIN_TOKEN/);
      }
    });
  });

  describe('GET /api/customers', () => {
    let ids: Record<string, string>;
    beforeAll(async () => {
      await h.app.db.query('DELETE FROM customer_tag');
      await h.app.db.query('DELETE FROM customer_identity');
      await h.app.db.query('DELETE FROM customer');
      ids = {
        ming: await addCustomer(h, { name: '王小明', phone: '+86 138 0013 8000', tags: ['VIP'] }),
        lei: await addCustomer(h, { name: '李雷', email: 'Li.Lei@Example.COM', wecom: 'wmLILEI0001', tags: ['VIP', '咖啡豆'] }),
        fang: await addCustomer(h, { name: '王芳', phone: '13912345678', tags: ['咖啡豆'] }),
        pct: await addCustomer(h, { name: 'Ann' }),
      };
    });

    const search = async (params: Record<string, string | number>) => {
      const body = await h.getJson(`/api/customers?${q(params)}`);
      return (body.items as { id: string }[]).map((i) => i.id);
    };

    it('lists newest first', async () => {
      const body = await h.getJson('/api/customers');
      expect(body.items.map((i: any) => i.id)).toEqual([ids.pct, ids.fang, ids.lei, ids.ming]);
      expect(body.nextCursor).toBeNull();
      expect(body.items[3]).toEqual({
        id: ids.ming,
        name: '王小明',
        phone: '+8613800138000',
        email: null,
        churnRisk: false,
        lastInteractionAt: null,
        lifecycleStage: 'new',
        rfm: { r: null, f: null, m: null },
      });
    });

    it('finds by part of a Chinese name', async () => {
      expect(await search({ q: '王' })).toEqual([ids.fang, ids.ming]);
      expect(await search({ q: '小明' })).toEqual([ids.ming]);
      expect(await search({ q: '张' })).toEqual([]);
    });

    it('finds by phone written in any format', async () => {
      for (const phone of ['138 0013 8000', '13800138000', '+86 138-0013-8000', '+8613800138000', '0086 13800138000']) {
        expect(await search({ q: phone })).toEqual([ids.ming]);
      }
      expect(await search({ q: '139 1234 5678' })).toEqual([ids.fang]);
    });

    it('finds by email in any case, and by WeCom external id', async () => {
      expect(await search({ q: 'li.lei@example.com' })).toEqual([ids.lei]);
      expect(await search({ q: '  LI.LEI@EXAMPLE.COM ' })).toEqual([ids.lei]);
      expect(await search({ q: 'wmLILEI0001' })).toEqual([ids.lei]);
    });

    it('treats LIKE wildcards in the search as plain characters', async () => {
      expect(await search({ q: '%' })).toEqual([]);
      expect(await search({ q: '_' })).toEqual([]);
      expect(await search({ q: '王%' })).toEqual([]);
    });

    it('filters by tag, also with a search, and forgets deleted tags', async () => {
      expect(await search({ tag: 'VIP' })).toEqual([ids.lei, ids.ming]);
      expect(await search({ tag: '咖啡豆' })).toEqual([ids.fang, ids.lei]);
      expect(await search({ tag: '咖啡豆', q: '王' })).toEqual([ids.fang]);
      expect(await search({ tag: 'nope' })).toEqual([]);
      await inTransaction(h.app.db, (em) => markWecomTagsDeleted(em, { tagId: 'et-VIP' }, new Date()));
      try {
        expect(await search({ tag: 'VIP' })).toEqual([]);
        expect((await h.getJson(`/api/customers/${ids.lei}`)).tags.map((t: any) => t.name)).toEqual(['咖啡豆']);
      } finally {
        await h.app.db.query(`UPDATE tag SET deleted = 0 WHERE wecom_id = 'et-VIP'`);
      }
    });

    it('pages with a cursor, each customer exactly once', async () => {
      const more: string[] = [];
      for (let i = 0; i < 8; i++) more.push(await addCustomer(h, { name: `分页客户${i}` }));
      const all = [...Object.values(ids), ...more];
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const body: any = await h.getJson(`/api/customers?${q(cursor ? { limit: 5, cursor } : { limit: 5 })}`);
        expect(body.items.length).toBeLessThanOrEqual(5);
        seen.push(...body.items.map((i: any) => i.id));
        cursor = body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(all.length);
      expect(new Set(seen).size).toBe(all.length);
      expect([...seen].sort()).toEqual([...all].sort());
      // a search pages the same way
      const first = await h.getJson(`/api/customers?${q({ q: '分页', limit: 6 })}`);
      const second = await h.getJson(`/api/customers?${q({ q: '分页', limit: 6, cursor: first.nextCursor })}`);
      expect([...first.items, ...second.items].map((i: any) => i.id).sort()).toEqual([...more].sort());
      expect(second.nextCursor).toBeNull();
      await h.app.db.query(`DELETE FROM customer_identity WHERE customer_id IN (${more.join(',')})`);
      await h.app.db.query(`DELETE FROM customer WHERE id IN (${more.join(',')})`);
    });

    it.each(['0', '1000', 'abc', '-1', '1.5', '0x10', '1e1', ' 5'])('refuses limit=%j with 400 naming limit', async (limit) => {
      const res = await h.request(`/api/customers?${q({ limit })}`);
      const err = await errorOf(res);
      expect(err.status).toBe(400);
      expect(err.code).toBe('bad_request');
      expect(err.message).toMatch(/^limit:/);
    });

    it.each(['garbage', 'bm90IGpzb24', Buffer.from('["x"]').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')])(
      'refuses cursor=%j with 400 naming cursor',
      async (cursor) => {
        const err = await errorOf(await h.request(`/api/customers?${q({ cursor })}`));
        expect(err.status).toBe(400);
        expect(err.message).toMatch(/^cursor:/);
      },
    );
  });

  describe('GET /api/customers/:id and its timeline', () => {
    let id: string;
    beforeAll(async () => {
      id = await addCustomer(h, { name: '周杰', phone: '13700001111', email: 'zhou@example.com', wecom: 'wmZHOU0001', tags: ['VIP'] });
    });

    it('returns the profile', async () => {
      const p = await h.getJson(`/api/customers/${id}`);
      expect(p).toMatchObject({ id, name: '周杰', phone: '+8613700001111', email: 'zhou@example.com', churnRisk: false });
      expect(p.tags).toEqual([{ name: 'VIP', group: '等级', source: 'wecom' }]);
      expect(p.identities).toEqual(
        expect.arrayContaining([
          { channel: 'wecom', externalId: 'wmZHOU0001' },
          { channel: 'phone', externalId: '+8613700001111' },
          { channel: 'email', externalId: 'zhou@example.com' },
        ]),
      );
    });

    it.each(['999999999', '0', 'abc', '1abc', '-1', '99999999999999999999999', '1%20OR%201=1'])('answers 404 for customer %j', async (bad) => {
      for (const path of [`/api/customers/${bad}`, `/api/customers/${bad}/timeline`]) {
        const res = await h.request(path);
        expect(res.status).toBe(404);
        expect((await errorOf(res)).code).toBe('not_found');
      }
    });

    it('pages the timeline newest first, each entry once, ties broken by id', async () => {
      const base = Date.UTC(2026, 0, 10, 8, 0, 0);
      const entries = [
        { at: new Date(base), text: 'e0' },
        { at: new Date(base + 60_000), text: 'e1' },
        { at: new Date(base + 60_000), text: 'e2' }, // same moment as e1
        { at: new Date(base + 60_000), text: 'e3' }, // and e3
        { at: new Date(base + 120_500), text: 'e4' },
        { at: new Date(base - 86_400_000), text: 'e5' },
        { at: new Date(base + 3_600_000), text: 'e6' },
      ];
      await addTimeline(h, id, entries);
      const seen: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const body: any = await h.getJson(`/api/customers/${id}/timeline?${q(cursor ? { limit: 2, cursor } : { limit: 2 })}`);
        expect(body.items.length).toBeLessThanOrEqual(2);
        seen.push(...body.items);
        cursor = body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(4);
      expect(seen.map((e) => e.text)).toEqual(['e6', 'e4', 'e3', 'e2', 'e1', 'e0', 'e5']);
      expect(seen[1]).toMatchObject({ channel: 'wecom', direction: 'in', kind: 'text', occurredAt: new Date(base + 120_500).toISOString() });
      // another customer's entries never show up
      const other = await addCustomer(h, { name: 'other' });
      await addTimeline(h, other, [{ at: new Date(base + 30_000), text: 'not-mine' }]);
      const again = await h.getJson(`/api/customers/${id}/timeline?limit=200`);
      expect(again.items.map((e: any) => e.text)).not.toContain('not-mine');
      expect(again.nextCursor).toBeNull();
    });

    it('refuses a bad timeline cursor or limit', async () => {
      for (const cursor of ['garbage', Buffer.from('["not-a-date","1"]').toString('base64url'), Buffer.from('["2026-01-01T00:00:00.000Z","x"]').toString('base64url')]) {
        const err = await errorOf(await h.request(`/api/customers/${id}/timeline?${q({ cursor })}`));
        expect(err.status).toBe(400);
        expect(err.message).toMatch(/^cursor:/);
      }
      expect((await errorOf(await h.request(`/api/customers/${id}/timeline?limit=0`))).message).toMatch(/^limit:/);
    });
  });

  describe('GET /api/identities/:channel/:externalId', () => {
    let id: string;
    beforeAll(async () => {
      id = await addCustomer(h, { name: '赵敏', phone: '13655556666', email: 'Zhao.Min@Example.com', wecom: 'wmZHAO0001' });
    });

    it('finds the customer by any identity, normalising phones and emails', async () => {
      for (const path of ['wecom/wmZHAO0001', 'phone/13655556666', `phone/${encodeURIComponent('+86 136 5555 6666')}`, 'email/ZHAO.MIN%40example.com']) {
        expect((await h.getJson(`/api/identities/${path}`)).id).toBe(id);
      }
    });

    it('answers 400 for an unknown channel or a malformed value, 404 for an unknown id', async () => {
      const ch = await errorOf(await h.request('/api/identities/fax/123'));
      expect(ch.status).toBe(400);
      expect(ch.message).toMatch(/^channel:/);
      expect((await h.request('/api/identities/phone/not-a-phone')).status).toBe(400);
      expect((await h.request('/api/identities/email/nobody')).status).toBe(400);
      for (const path of ['wecom/wmNOBODY', 'phone/13000000000', 'email/nobody%40example.com', 'wechat_unionid/oNOBODY']) {
        const res = await h.request(`/api/identities/${path}`);
        expect(res.status).toBe(404);
      }
    });
  });

  describe('GET /api/events', () => {
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      await h.app.db.query('DELETE FROM inbound_event');
      const store = (channel: string, key: string) =>
        h.app.inbox.store({ channel, type: 'event/test', dedupKey: `test:${key}`, payload: { key }, receivedAt: new Date() });
      ids.a = (await store('wecom', 'a')).id;
      ids.b = (await store('wecom', 'b')).id;
      ids.c = (await store('sms', 'c')).id;
      ids.d = (await store('wecom', 'd')).id;
      await h.app.inbox.markProcessed(ids.b, new Date());
      await h.app.inbox.markError(ids.d, 'Error: boom', true);
    });
    const list = async (params: Record<string, string | number> = {}) => (await h.getJson(`/api/events?${q(params)}`)).items.map((e: any) => e.id);

    it('lists newest first and filters by status and channel', async () => {
      expect(await list()).toEqual([ids.d, ids.c, ids.b, ids.a]);
      expect(await list({ status: 'received' })).toEqual([ids.c, ids.a]);
      expect(await list({ status: 'processed' })).toEqual([ids.b]);
      expect(await list({ status: 'failed' })).toEqual([ids.d]);
      expect(await list({ channel: 'sms' })).toEqual([ids.c]);
      expect(await list({ channel: 'wecom', status: 'received' })).toEqual([ids.a]);
      expect(await list({ channel: 'email' })).toEqual([]);
      const failed = (await h.getJson(`/api/events?status=failed`)).items[0];
      expect(failed).toMatchObject({ id: ids.d, channel: 'wecom', type: 'event/test', status: 'failed', lastError: 'Error: boom', payload: { key: 'd' } });
    });

    it('pages with a cursor', async () => {
      const first = await h.getJson('/api/events?limit=3');
      expect(first.items).toHaveLength(3);
      const second = await h.getJson(`/api/events?limit=3&cursor=${first.nextCursor}`);
      expect(second.items.map((e: any) => e.id)).toEqual([ids.a]);
      expect(second.nextCursor).toBeNull();
    });

    it('refuses a bad status, channel, limit or cursor with 400 naming it', async () => {
      for (const [params, field] of [
        [{ status: 'done' }, 'status'],
        [{ status: 'PROCESSED' }, 'status'],
        [{ channel: 'WeCom!' }, 'channel'],
        [{ limit: 0 }, 'limit'],
        [{ cursor: 'garbage' }, 'cursor'],
      ] as [Record<string, string | number>, string][]) {
        const err = await errorOf(await h.request(`/api/events?${q(params)}`));
        expect(err.status).toBe(400);
        expect(err.message).toMatch(new RegExp(`^${field}:`));
      }
    });

    it('answers 404 when retrying an event that does not exist, 409 for one that has not failed', async () => {
      for (const id of ['999999999', 'abc']) expect((await h.request(`/api/events/${id}/retry`, { method: 'POST' })).status).toBe(404);
      for (const id of [ids.a, ids.b]) {
        const res = await h.request(`/api/events/${id}/retry`, { method: 'POST' });
        expect(res.status).toBe(409);
        expect((await errorOf(res)).code).toBe('not_failed');
      }
    });
  });

  describe('/healthz and /metrics', () => {
    it('/healthz answers 200 when MySQL and Redis answer', async () => {
      const res = await h.request('/healthz');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', mysql: 'ok', redis: 'ok' });
    });

    it('/healthz answers 503 naming Redis when Redis is unreachable, and nothing hangs', async () => {
      const down = await startContextWithoutRedis();
      try {
        const started = Date.now();
        const res = await fetch(`${down.url}/healthz`);
        expect(res.status).toBe(503);
        const body = (await res.json()) as Record<string, string>;
        expect(body.status).toBe('unavailable');
        expect(body.mysql).toBe('ok');
        expect(body.redis).toMatch(/^down/);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await down.close();
      }
    });

    it('/metrics is Prometheus text with the callback, job and lag metrics', async () => {
      await h.app.db.query('DELETE FROM inbound_event');
      // one accepted callback, one refused, one old unprocessed event
      const xml = wecomEventXml({ FromUserName: 'sys', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event', Event: 'unknown_thing' });
      expect((await h.sendCallback(xml)).status).toBe(200);
      const bad = await fetch(`${h.url}/webhooks/wecom?msg_signature=00&timestamp=${Math.floor(Date.now() / 1000)}&nonce=1`, {
        method: 'POST',
        body: '<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>',
      });
      expect(bad.status).toBe(401);
      await h.app.db.query(`UPDATE inbound_event SET received_at = ?`, [new Date(Date.now() - 120_000)]);

      const res = await h.request('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      for (const name of [
        'touchpoint_callbacks_received_total',
        'touchpoint_callbacks_rejected_total',
        'touchpoint_jobs_processed_total',
        'touchpoint_inbound_event_lag_seconds',
      ]) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      expect(text).toMatch(/^touchpoint_callbacks_received_total\{channel="wecom"\} 1$/m);
      expect(text).toMatch(/^touchpoint_callbacks_rejected_total\{channel="wecom",reason="bad_signature"\} 1$/m);
      const lag = Number(/^touchpoint_inbound_event_lag_seconds (\S+)$/m.exec(text)?.[1]);
      expect(lag).toBeGreaterThanOrEqual(119);
      expect(lag).toBeLessThan(600);

      // the worker processes it: the job counter moves and the lag drops to 0
      h.startWorker();
      await waitFor(async () => (await h.getJson('/api/events?status=processed')).items.length === 1, 10_000, 'processed');
      const after = await (await h.request('/metrics')).text();
      expect(after).toMatch(/^touchpoint_jobs_processed_total\{queue="inbound"\} 1$/m);
      expect(after).toMatch(/^touchpoint_inbound_event_lag_seconds 0$/m);
    });
  });
});

/** A context whose Redis is a closed port: serves HTTP, and closes without waiting for a Redis that never comes. */
async function startContextWithoutRedis(): Promise<{ url: string; close(): Promise<void> }> {
  const app: AppContext = await createContext(testConfig({ REDIS_URL: 'redis://127.0.0.1:6390/15' }), { log: pino({ level: 'silent' }) });
  const quiet = () => {};
  // every Redis connection we can reach: ours, and Bull's command client, subscriber and blocking clients
  const clients = () => [app.redis, ...app.queues.all.flatMap((q) => [q.client, (q as unknown as { eclient: Redis }).eclient, ...q.clients])];
  for (const c of clients()) c.on('error', quiet);
  const server: http.Server = await startServer(app, 0);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise((r) => server.close(r));
      server.closeAllConnections();
      // app.close() waits for Bull to become ready, which never happens without Redis: stop the
      // reconnect loops ourselves, then close the database
      for (const c of clients()) c.disconnect();
      if (app.db.isInitialized) await app.db.destroy();
    },
  };
}
