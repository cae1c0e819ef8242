// PIPL rights over HTTP, with the worker and the Twilio fake: everything about a person comes out of
// GET /api/customers/:id/export; POST /api/customers/:id/erase leaves nothing personal — an export
// afterwards has no name, number, text or payload — while the orders stay on the anonymous customer
// and the number that said STOP is still never texted, even when it comes back as a new customer.
import { createHmac } from 'node:crypto';
import { TwilioSmsAdapter } from '../../channels/sms/twilio.sms';
import { twilioStatusCallbackUrl } from '../../channels/sms';
import { runPayloadRetentionJob } from '../../jobs/payload-retention.job';
import { createDelivery } from '../../src/sending/deliveries';
import { inTransaction } from '../../src/platform/tx';
import { signTwilioRequest, startFakeTwilio, twilioSid, type FakeTwilio } from '../fakes/twilio.fake';
import { startHarness, waitFor, type Harness } from '../support/harness';

const PHONE = '+8613912345678';
const ORDER_SECRET = 'orders-secret-for-privacy-tests-0123';

describe('PIPL export and erasure', () => {
  let h: Harness;
  let fake: FakeTwilio;
  beforeEach(async () => {
    fake = await startFakeTwilio();
    h = await startHarness({ worker: true, env: { ...fake.env(), ORDERS_WEBHOOK_SECRET: ORDER_SECRET } });
    h.app.adapters.sms = new TwilioSmsAdapter(h.config.sms.twilio!, { statusCallback: (ref) => twilioStatusCallbackUrl(h.url, ref) });
  });
  afterEach(async () => {
    await h.close();
    await fake.close();
  });

  const allProcessed = () =>
    waitFor(async () => Number((await h.app.db.query(`SELECT COUNT(*) AS n FROM inbound_event WHERE status <> 'processed'`))[0].n) === 0, 10_000, 'events processed');

  const sms = async (body: string, from = PHONE) => {
    const params = { AccountSid: fake.accountSid, ApiVersion: '2010-04-01', Body: body, From: from, To: '+14155550100', MessageSid: twilioSid('SM'), NumMedia: '0', NumSegments: '1', SmsStatus: 'received' };
    const url = `${h.url}/webhooks/sms/twilio`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilioRequest(fake.authToken, url, params) }, body: new URLSearchParams(params).toString() });
    expect(res.status).toBe(200);
    await allProcessed();
  };

  const order = async (orderId: string) => {
    const raw = JSON.stringify({
      orderId,
      customer: { phone: PHONE, name: '王小明', birthday: '1990-05-17' },
      items: [{ sku: 'BEAN-1', name: '耶加雪菲 250g', quantity: 2, price: '88.00' }],
      total: '176.00',
      currency: 'CNY',
      placedAt: '2026-11-02T10:00:00Z',
    });
    const res = await fetch(`${h.url}/webhooks/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-touchpoint-signature': `sha256=${createHmac('sha256', ORDER_SECRET).update(raw).digest('hex')}` },
      body: raw,
    });
    expect(res.status).toBe(202);
    await allProcessed();
  };

  const customerIdOf = async (phone: string) => {
    const res = await h.request(`/api/identities/phone/${encodeURIComponent(phone)}`);
    return res.status === 200 ? (((await res.json()) as any).id as string) : null;
  };

  it('export holds everything; erase removes every personal detail, keeps the orders anonymously, and the opted-out number stays suppressed', async () => {
    await sms('你好，我是王小明，住在梅花路 8 号');
    await order('ORD-PIPL-1');
    const id = (await customerIdOf(PHONE))!;
    expect(id).toBeTruthy();
    const edit = await h.request(`/api/customers/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'zhangsan', notes: '喜欢浅烘，对坚果过敏', email: 'xiaoming@example.com' }),
    });
    expect(edit.status).toBe(200);
    await sms('STOP');
    // a marketing SMS waiting for its time: queued when the person is erased
    const { id: queuedId } = await inTransaction(h.app.db, (em) =>
      createDelivery(
        em,
        { customerId: id, channel: 'sms', provider: 'twilio', purpose: 'birthday', marketing: true, idempotencyKey: `birthday:${id}:2027`, toAddress: PHONE, content: { text: '王小明，生日快乐' }, notBefore: new Date(Date.now() + 86_400_000) },
        new Date(),
      ),
    );
    await h.app.enqueueSend(queuedId);

    // ---- the export: one JSON document with everything
    const before = await h.request(`/api/customers/${id}/export`);
    expect(before.status).toBe(200);
    expect(before.headers.get('content-disposition')).toBe(`attachment; filename="customer-${id}.json"`);
    const doc = (await before.json()) as any;
    expect(doc.customer).toMatchObject({ id, name: '王小明', phone: PHONE, email: 'xiaoming@example.com', birthday: '1990-05-17', notes: '喜欢浅烘，对坚果过敏', erasedAt: null });
    expect(doc.customer.identities).toEqual(expect.arrayContaining([{ channel: 'phone', externalId: PHONE }, { channel: 'email', externalId: 'xiaoming@example.com' }]));
    expect(doc.consents.current).toEqual([expect.objectContaining({ channel: 'sms', status: 'opted_out' })]);
    expect(doc.consents.ledger).toEqual([expect.objectContaining({ action: 'opt_out', evidence: 'STOP' })]);
    expect(doc.timeline.map((t: any) => t.text)).toEqual(expect.arrayContaining(['你好，我是王小明，住在梅花路 8 号', '王小明，生日快乐']));
    expect(doc.orders).toEqual([
      expect.objectContaining({ orderId: 'ORD-PIPL-1', total: '176.00', currency: 'CNY', items: [expect.objectContaining({ sku: 'BEAN-1', name: '耶加雪菲 250g', quantity: 2, price: '88.00' })] }),
    ]);
    expect(doc.deliveries).toEqual([expect.objectContaining({ id: queuedId, to: PHONE, status: 'queued' })]);
    // the three raw payloads (two SMS, one order) are linked to the person
    expect(doc.inboundEvents).toHaveLength(3);
    expect(JSON.stringify(doc.inboundEvents)).toContain('梅花路');
    expect(JSON.stringify(doc.inboundEvents)).toContain(PHONE);

    // ---- erase
    const erased = await h.request(`/api/customers/${id}/erase`, { method: 'POST' });
    expect(erased.status).toBe(200);
    expect(await erased.json()).toMatchObject({ customerId: id, suppressedAddresses: 1, identitiesRemoved: 2, inboundPayloadsErased: 3, queuedDeliveriesCancelled: 1 });
    expect(await h.app.queues.send.sms.getJob(`delivery:${queuedId}`)).toBeNull();

    // ---- an export afterwards: nothing personal left, the orders still there
    const after = (await h.getJson(`/api/customers/${id}/export`)) as any;
    const text = JSON.stringify(after);
    for (const personal of ['王小明', '13912345678', 'xiaoming', '梅花路', '坚果', '1990-05-17', '05-17', 'STOP', '生日快乐']) expect(text).not.toContain(personal);
    expect(after.customer).toMatchObject({ id, name: null, phone: null, email: null, birthday: null, notes: null, identities: [], tags: [], follows: [] });
    expect(after.customer.erasedAt).toEqual(expect.any(String));
    expect(after.orders).toEqual([expect.objectContaining({ orderId: 'ORD-PIPL-1', total: '176.00', items: [expect.objectContaining({ sku: 'BEAN-1', quantity: 2 })] })]);
    expect(after.customer.stats).toMatchObject({ orderCount: 1, totalSpent: '176.00' });
    expect(after.consents.current).toEqual([expect.objectContaining({ channel: 'sms', status: 'opted_out' })]);
    expect(after.deliveries).toEqual([expect.objectContaining({ id: queuedId, to: '', content: {}, status: 'suppressed', errorCode: 'erased' })]);
    expect(after.inboundEvents.map((e: any) => e.payload)).toEqual([{ erased: true }, { erased: true }, { erased: true }]);
    expect(after.timeline.length).toBe(doc.timeline.length);
    expect(after.timeline.every((t: any) => t.text === null && t.data === null)).toBe(true);
    // nowhere in the database: the raw tables hold neither the number nor the words
    const [{ n: leaks }] = await h.app.db.query(
      `SELECT (SELECT COUNT(*) FROM inbound_event WHERE dedup_key LIKE '%13912345678%' OR CAST(payload AS CHAR) LIKE '%13912345678%')
            + (SELECT COUNT(*) FROM timeline_entry WHERE provider_id LIKE '%13912345678%')
            + (SELECT COUNT(*) FROM customer_identity WHERE external_id LIKE '%13912345678%')
            + (SELECT COUNT(*) FROM delivery WHERE to_address LIKE '%13912345678%') AS n`,
    );
    expect(Number(leaks)).toBe(0);
    // only a one-way hash of the number it said STOP from
    const hashes = await h.app.db.query(`SELECT address_hash, channel, reason FROM suppressed_address`);
    expect(hashes).toEqual([{ address_hash: expect.stringMatching(/^[0-9a-f]{64}$/), channel: 'sms', reason: 'erased' }]);

    // erasing again changes nothing more
    const again = await h.request(`/api/customers/${id}/erase`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ identitiesRemoved: 0, queuedDeliveriesCancelled: 0, erasedAt: after.customer.erasedAt });

    // ---- the number comes back: a new customer, and an SMS to it is still suppressed as opted out
    await sms('还在吗？');
    const newId = await waitFor(() => customerIdOf(PHONE), 10_000, 'the new customer');
    expect(newId).not.toBe(id);
    const send = await h.request(`/api/customers/${newId}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'sms', actor: 'zhangsan', text: '新品到店' }) });
    expect(send.status).toBe(202);
    const { id: deliveryId } = (await send.json()) as any;
    const d = await waitFor(async () => {
      const row = await h.getJson(`/api/deliveries/${deliveryId}`);
      return row.status !== 'queued' ? row : null;
    }, 10_000, 'the send decided');
    expect(d).toMatchObject({ status: 'suppressed', errorCode: 'opted_out' });
    expect(fake.sent.filter((s) => s.to === PHONE)).toEqual([]);
  });

  it('an address nobody opted out on leaves no hash behind, and another number is still texted', async () => {
    await sms('你好');
    const id = (await customerIdOf(PHONE))!;
    expect((await h.request(`/api/customers/${id}/erase`, { method: 'POST' })).status).toBe(200);
    expect(await h.app.db.query(`SELECT * FROM suppressed_address`)).toEqual([]);
    await sms('我又来了');
    const newId = (await waitFor(() => customerIdOf(PHONE), 10_000, 'the new customer'))!;
    const send = await h.request(`/api/customers/${newId}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'sms', actor: 'zhangsan', text: '欢迎回来' }) });
    expect(send.status).toBe(202);
    await waitFor(async () => fake.sent.some((s) => s.to === PHONE), 10_000, 'the SMS sent');
  });

  it.each([
    ['GET', 'export'],
    ['POST', 'erase'],
  ])('%s /api/customers/:id/%s: an unknown or malformed id → 404, no token → 401, nothing changed', async (method, action) => {
    await sms('你好');
    const id = (await customerIdOf(PHONE))!;
    for (const bad of ['999999', 'abc', '1;DROP']) {
      const res = await h.request(`/api/customers/${encodeURIComponent(bad)}/${action}`, { method });
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).error).toEqual({ code: 'not_found', message: `no customer ${bad}` });
    }
    const anon = await h.request(`/api/customers/${id}/${action}`, { method, auth: false });
    expect(anon.status).toBe(401);
    const wrong = await h.request(`/api/customers/${id}/${action}`, { method, auth: false, headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
    expect(await customerIdOf(PHONE)).toBe(id);
    expect((await h.getJson(`/api/customers/${id}`)).erasedAt).toBeNull();
  });

  it('the retention job deletes raw payloads past INBOUND_PAYLOAD_RETENTION_DAYS (processed or failed), keeps newer ones, waiting ones and the timeline', async () => {
    await sms('你好');
    const id = (await customerIdOf(PHONE))!;
    const old = new Date(Date.now() - 91 * 86_400_000);
    const recent = new Date(Date.now() - 89 * 86_400_000);
    await h.app.db.query(`UPDATE inbound_event SET received_at = ?`, [old]);
    const store = (dedupKey: string, receivedAt: Date) => h.app.inbox.store({ channel: 'test', type: 'x', dedupKey, payload: { n: dedupKey }, receivedAt });
    await store('old-failed', old);
    await store('old-waiting', old);
    await store('recent', recent);
    await h.app.db.query(`UPDATE inbound_event SET status = 'failed' WHERE dedup_key = 'old-failed'`);
    await h.app.db.query(`UPDATE inbound_event SET status = 'processed' WHERE dedup_key = 'recent'`);
    const result = await runPayloadRetentionJob(h.app);
    expect(result.deleted).toBe(2);
    const left = await h.app.db.query(`SELECT dedup_key FROM inbound_event ORDER BY dedup_key`);
    expect(left.map((r: any) => r.dedup_key)).toEqual(['old-waiting', 'recent']);
    expect((await h.getJson(`/api/customers/${id}/timeline`)).items.map((t: any) => t.text)).toEqual(['你好']);
    // the setting: default 90, a bad value named
    expect(h.config.inbox.payloadRetentionDays).toBe(90);
  });
});
