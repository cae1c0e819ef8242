// Consent bound to the address (issue 8, item 1): an opt-out said from a number blocks every SMS to
// that number whichever profile holds it now or later; a channel opt-out on a customer covers every
// address of that channel on that customer; a merge never loosens consent. Over HTTP with the worker,
// against the real MariaDB/Redis and the fake Tencent SMS and WeCom APIs.
import { addressHash, mergeConsents, recordConsent } from '../../src/consent/consent';
import { createDelivery } from '../../src/sending/deliveries';
import { inTransaction } from '../../src/platform/tx';
import { startFakeTencentSms, type FakeTencentSms } from '../fakes/tencent-sms.fake';
import { nowSeconds, startHarness, waitFor, wecomEventXml, type Harness } from '../support/harness';

const TOKEN = 'sms-hook-token-3f9a8c7d6e5b4a39';
const EXT = 'wmEXT0000000000000000000SPLIT1';
const PHONE = '+8613912345678';

function postJson(h: Harness, path: string, body: unknown): Promise<Response> {
  return fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function allProcessed(h: Harness): Promise<void> {
  await waitFor(async () => {
    const [row] = await h.app.db.query(`SELECT COUNT(*) AS n FROM inbound_event WHERE status <> 'processed'`);
    return Number(row.n) === 0;
  }, 10_000, 'every inbound event processed');
}

async function insertCustomer(h: Harness, c: { phone?: string | null; email?: string | null; name?: string }): Promise<string> {
  const t = new Date();
  const res = await h.app.db.query(`INSERT INTO customer (name, phone, email, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, ?, ?, 0)`, [
    c.name ?? '顾客', c.phone ?? null, c.email ?? null, t, t, t,
  ]);
  return String(res.insertId);
}

let seq = 0;
async function queueSms(h: Harness, customerId: string, to: string, purpose = 'birthday'): Promise<string> {
  const { id } = await inTransaction(h.app.db, (em) =>
    createDelivery(
      em,
      {
        customerId,
        channel: 'sms',
        provider: 'tencent',
        purpose,
        marketing: purpose !== 'manual',
        idempotencyKey: `test:${customerId}:${++seq}:${Date.now()}`,
        toAddress: to,
        content: { text: '生日快乐，送您一张8折券。拒收请回复R', templateId: '1110001', signName: '咖啡小店', params: ['王哥', '8'] },
      },
      h.app.now(),
    ),
  );
  await h.app.enqueueSend(id);
  return id;
}

async function deliveryEnds(h: Harness, id: string): Promise<any> {
  return waitFor(async () => {
    const d = await h.getJson(`/api/deliveries/${id}`);
    return d.status !== 'queued' ? d : null;
  }, 15_000, `delivery ${id} leaves queued`);
}

describe('consent bound to the address', () => {
  let h: Harness;
  let sms: FakeTencentSms;
  const hook = `/webhooks/sms/tencent/${TOKEN}`;

  beforeAll(async () => {
    sms = await startFakeTencentSms();
    h = await startHarness({ worker: true, env: { ...sms.env(), SMS_WEBHOOK_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await h.close();
    await sms.close();
  });

  it('the split-profile story: 退订 from a number on profile B, then the number written into profile A’s remark — no SMS to that number from A, nor from any later profile', async () => {
    // A: a WeCom add without a remark mobile
    h.fake.contacts.set(EXT, {
      external_contact: { external_userid: EXT, name: '王哥', type: 1 },
      follow_user: [{ userid: 'zhangsan', remark: '王哥', createtime: nowSeconds() - 3600, remark_mobiles: [], tags: [] }],
    } as any);
    const add = wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds() - 60, MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: EXT });
    expect((await h.sendCallback(add)).status).toBe(200);
    const a = await waitFor(async () => {
      const r = await h.request(`/api/identities/wecom/${EXT}`);
      return r.status === 200 ? ((await r.json()) as any) : null;
    }, 10_000, 'profile A');
    expect(a.phone).toBeNull();

    // B: "退订" by SMS from a number nobody has yet
    expect((await postJson(h, hook, { extend: '', mobile: '13912345678', nationcode: '86', sign: '咖啡小店', text: '退订', time: nowSeconds() - 30 })).status).toBe(200);
    await allProcessed(h);
    const b = await waitFor(async () => {
      const r = await h.request(`/api/identities/phone/${encodeURIComponent(PHONE)}`);
      return r.status === 200 ? ((await r.json()) as any) : null;
    }, 10_000, 'profile B');
    expect(b.id).not.toBe(a.id);
    const bConsents = await h.getJson(`/api/customers/${b.id}/consents`);
    expect(bConsents.current).toEqual([expect.objectContaining({ channel: 'sms', status: 'opted_out' })]);
    expect(bConsents.addresses).toEqual([expect.objectContaining({ channel: 'sms', address: PHONE, status: 'opted_out', source: 'sms_keyword' })]);
    // the address's word is kept under a one-way hash of the normalised number too
    const [stored] = await h.app.db.query(`SELECT address, address_hash, status FROM address_consent WHERE channel = 'sms' AND address_hash = ?`, [addressHash(PHONE)]);
    expect(stored).toEqual({ address: PHONE, address_hash: addressHash(PHONE), status: 'opted_out' });

    // the staff member writes the mobile into A's remark
    h.fake.contacts.set(EXT, {
      external_contact: { external_userid: EXT, name: '王哥', type: 1 },
      follow_user: [{ userid: 'zhangsan', remark: '王哥', createtime: nowSeconds() - 3600, remark_mobiles: ['139 1234 5678'], tags: [] }],
    } as any);
    const edit = wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds() - 10, MsgType: 'event', Event: 'change_external_contact', ChangeType: 'edit_external_contact', UserID: 'zhangsan', ExternalUserID: EXT });
    expect((await h.sendCallback(edit)).status).toBe(200);
    await allProcessed(h);

    // whichever profile now carries the number, a birthday SMS to it is not sent
    const holder = await waitFor(async () => {
      const [row] = await h.app.db.query(`SELECT id FROM customer WHERE phone = ? ORDER BY id = ? DESC LIMIT 1`, [PHONE, a.id]);
      return row ? String(row.id) : null;
    }, 10_000, 'a profile showing the number');
    const sent = sms.calls.length;
    const d1 = await deliveryEnds(h, await queueSms(h, holder, PHONE));
    expect(d1.status).toBe('suppressed');
    expect(['address_opted_out', 'opted_out']).toContain(d1.errorCode);

    // a brand-new profile holding the number (an order, an import) is blocked by the address alone
    const c = await insertCustomer(h, { phone: PHONE, name: '新顾客' });
    const d2 = await deliveryEnds(h, await queueSms(h, c, PHONE));
    expect(d2).toMatchObject({ status: 'suppressed', errorCode: 'address_opted_out' });
    // also a staff message (not marketing) respects the no
    const d3 = await deliveryEnds(h, await queueSms(h, c, PHONE, 'manual'));
    expect(d3).toMatchObject({ status: 'suppressed', errorCode: 'address_opted_out' });
    expect(sms.calls.length).toBe(sent);

    // another number on the same new profile is not blocked by that address
    const other = await insertCustomer(h, { phone: '+8613700000001' });
    const d4 = await deliveryEnds(h, await queueSms(h, other, '+8613700000001', 'manual'));
    expect(d4.status).toBe('sent');
    expect(sms.calls.length).toBe(sent + 1);
  });

  it('a channel opt-out on a customer covers every address of that channel they hold, and the word stays with each address after it moves', async () => {
    const id = await insertCustomer(h, { phone: '+8613600000002', email: 'Wang@Example.com' });
    const res = await h.request(`/api/customers/${id}/consents/sms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'opted_out', actor: 'zhangsan', note: '电话里说不要短信' }) });
    expect(res.status).toBe(200);
    const view = (await res.json()) as any;
    expect(view.addresses).toEqual([expect.objectContaining({ channel: 'sms', address: '+8613600000002', status: 'opted_out', source: 'manual' })]);

    // the number moves to someone else's profile: still blocked
    const later = await insertCustomer(h, { phone: '+8613600000002' });
    const d = await deliveryEnds(h, await queueSms(h, later, '+8613600000002', 'manual'));
    expect(d).toMatchObject({ status: 'suppressed', errorCode: 'address_opted_out' });
    // email was not touched
    const [emailWord] = await h.app.db.query(`SELECT status FROM address_consent WHERE channel = 'email' AND address_hash = ?`, [addressHash('wang@example.com')]);
    expect(emailWord).toBeUndefined();
  });

  it('merging never loosens consent: the most restrictive state wins per channel, the ledger moves with its history, and a second run changes nothing', async () => {
    const survivor = await insertCustomer(h, { phone: '+8613500000003', email: 'keep@example.com' });
    const merged = await insertCustomer(h, { phone: '+8613500000004', email: 'gone@example.com' });
    const t0 = new Date(Date.now() - 60_000);
    const t1 = new Date(Date.now() - 30_000);
    await inTransaction(h.app.db, async (em) => {
      // survivor: opted back in to SMS later than the merged one opted out — still, the no wins
      await recordConsent(em, { customerId: merged, channel: 'sms', action: 'opt_out', source: 'manual', actor: 't', occurredAt: t0 }, t0);
      await recordConsent(em, { customerId: survivor, channel: 'sms', action: 'opt_in', source: 'manual', actor: 't', occurredAt: t1 }, t1);
      // email: only the merged one said anything (opted out)
      await recordConsent(em, { customerId: merged, channel: 'email', action: 'opt_out', source: 'email_unsubscribe', occurredAt: t0 }, t0);
      // wecom: the survivor opted out, the merged one opted in — the survivor's no stays
      await recordConsent(em, { customerId: survivor, channel: 'wecom', action: 'opt_out', source: 'manual', actor: 't', occurredAt: t0 }, t0);
      await recordConsent(em, { customerId: merged, channel: 'wecom', action: 'opt_in', source: 'manual', actor: 't', occurredAt: t1 }, t1);
    });
    const now = new Date();
    for (let i = 0; i < 2; i++) await inTransaction(h.app.db, (em) => mergeConsents(em, survivor, merged, now));

    const view = await h.getJson(`/api/customers/${survivor}/consents`);
    const state = Object.fromEntries(view.current.map((c: any) => [c.channel, c.status]));
    expect(state).toEqual({ sms: 'opted_out', email: 'opted_out', wecom: 'opted_out' });
    // the merged customer's three entries moved in beside the survivor's two, plus one merge entry for SMS
    expect(view.ledger.filter((e: any) => e.source === 'merge')).toEqual([expect.objectContaining({ channel: 'sms', action: 'opt_out' })]);
    expect(view.ledger).toHaveLength(6);
    expect(await h.app.db.query(`SELECT * FROM customer_consent WHERE customer_id = ?`, [merged])).toEqual([]);
    // the survivor's own addresses are covered by the no it took on
    const d = await deliveryEnds(h, await queueSms(h, survivor, '+8613500000003', 'manual'));
    expect(d).toMatchObject({ status: 'suppressed', errorCode: 'opted_out' });
    const [word] = await h.app.db.query(`SELECT status, source FROM address_consent WHERE channel = 'email' AND address_hash = ?`, [addressHash('keep@example.com')]);
    expect(word).toEqual({ status: 'opted_out', source: 'merge' });
  });

  it('erasing a customer who said no keeps only the hash of their address, and the number stays blocked', async () => {
    const id = await insertCustomer(h, { phone: '+8613400000005', name: '要删除的人' });
    const res = await h.request(`/api/customers/${id}/consents/sms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'opted_out', actor: 'zhangsan' }) });
    expect(res.status).toBe(200);
    expect((await h.request(`/api/customers/${id}/erase`, { method: 'POST' })).status).toBe(200);
    const rows = await h.app.db.query(`SELECT address, status FROM address_consent WHERE channel = 'sms' AND address_hash = ?`, [addressHash('+8613400000005')]);
    expect(rows).toEqual([{ address: null, status: 'opted_out' }]);
    expect(await h.app.db.query(`SELECT address FROM consent_event WHERE customer_id = ? AND address IS NOT NULL`, [id])).toEqual([]);
    const later = await insertCustomer(h, { phone: '+8613400000005' });
    const d = await deliveryEnds(h, await queueSms(h, later, '+8613400000005', 'manual'));
    expect(d.status).toBe('suppressed');
  });
});
