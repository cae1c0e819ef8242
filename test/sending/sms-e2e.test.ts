// SMS end to end, with the worker: provider webhooks → durable inbox → customer, timeline and
// consent; staff sends → delivery row → provider (local fake) → status callback → delivered/failed.
import { createDelivery } from '../../src/sending/deliveries';
import { inTransaction } from '../../src/platform/tx';
import { twilioStatusCallbackUrl } from '../../channels/sms';
import { TwilioSmsAdapter } from '../../channels/sms/twilio.sms';
import { startFakeAliyunSms, type FakeAliyunSms } from '../fakes/aliyun-sms.fake';
import { startFakeTencentSms, type FakeTencentSms } from '../fakes/tencent-sms.fake';
import { signTwilioRequest, startFakeTwilio, twilioSid, type FakeTwilio } from '../fakes/twilio.fake';
import { nowSeconds, startHarness, waitFor, wecomEventXml, type Harness } from '../support/harness';

const TOKEN = 'sms-hook-token-3f9a8c7d6e5b4a39';
const EXT = 'wmEXT0000000000000000000SMS01';
const PHONE = '+8613800138000';

const beijing = (d: Date) => new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

function postJson(h: Harness, path: string, body: unknown): Promise<Response> {
  return fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function customerByPhone(h: Harness, phone = PHONE): Promise<any> {
  return waitFor(async () => {
    const r = await h.request(`/api/identities/phone/${encodeURIComponent(phone)}`);
    return r.status === 200 ? ((await r.json()) as any) : null;
  }, 10_000, `customer with ${phone}`);
}

async function delivery(h: Harness, id: string): Promise<any> {
  return h.getJson(`/api/deliveries/${id}`);
}

async function deliveryReaches(h: Harness, id: string, status: string): Promise<any> {
  return waitFor(async () => {
    const d = await delivery(h, id);
    return d.status === status ? d : null;
  }, 15_000, `delivery ${id} ${status}`);
}

async function sendByApi(h: Harness, customerId: string, body: Record<string, unknown>): Promise<any> {
  const res = await h.request(`/api/customers/${customerId}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'sms', actor: 'zhangsan', ...body }) });
  expect(res.status).toBe(202);
  return res.json();
}

async function allProcessed(h: Harness): Promise<void> {
  await waitFor(async () => {
    const [row] = await h.app.db.query(`SELECT COUNT(*) AS n FROM inbound_event WHERE status <> 'processed'`);
    return Number(row.n) === 0;
  }, 10_000, 'every inbound event processed');
}

// ------------------------------------------------------------------------------------------ Tencent
describe('SMS end to end — Tencent', () => {
  let h: Harness;
  let fake: FakeTencentSms;
  const hook = `/webhooks/sms/tencent/${TOKEN}`;
  beforeEach(async () => {
    fake = await startFakeTencentSms();
    h = await startHarness({
      worker: true,
      env: { ...fake.env(), SMS_WEBHOOK_TOKEN: TOKEN },
    });
  });
  afterEach(async () => {
    await h.close();
    await fake.close();
  });

  it('"退订" from a number first seen as a WeCom remark mobile: on that customer’s timeline, opt-out recorded, queued marketing SMS suppressed', async () => {
    h.fake.contacts.set(EXT, {
      external_contact: { external_userid: EXT, name: '王哥', type: 1 },
      follow_user: [{ userid: 'zhangsan', remark: '王哥', createtime: nowSeconds() - 3600, remark_mobiles: ['138 0013 8000'], tags: [] }],
    } as any);
    expect(
      (await h.sendCallback(wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds() - 60, MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: EXT }))).status,
    ).toBe(200);
    const wecomCustomer = await waitFor(async () => {
      const r = await h.request(`/api/identities/wecom/${EXT}`);
      return r.status === 200 ? ((await r.json()) as any) : null;
    }, 10_000, 'wecom profile');
    expect(wecomCustomer.phone).toBe(PHONE);

    // a birthday SMS is queued (its send is due shortly)
    const { id: deliveryId } = await inTransaction(h.app.db, (em) =>
      createDelivery(
        em,
        {
          customerId: wecomCustomer.id,
          channel: 'sms',
          provider: 'tencent',
          purpose: 'birthday',
          marketing: true,
          idempotencyKey: `birthday:${wecomCustomer.id}:2025`,
          toAddress: PHONE,
          content: { text: '王哥生日快乐，送您一张8折券。拒收请回复R', templateId: '1110001', signName: '咖啡小店', params: ['王哥', '8'] },
        },
        h.app.now(),
      ),
    );
    await h.app.enqueueSend(deliveryId, 2000);

    // the customer replies 退订 (full-width punctuation and all)
    const res = await postJson(h, hook, { extend: '', mobile: '13800138000', nationcode: '86', sign: '咖啡小店', text: '退订。', time: nowSeconds() - 5 });
    expect(res.status).toBe(200);
    await allProcessed(h);

    expect((await customerByPhone(h)).id).toBe(wecomCustomer.id);
    const consents = await h.getJson(`/api/customers/${wecomCustomer.id}/consents`);
    expect(consents.current).toEqual([expect.objectContaining({ channel: 'sms', status: 'opted_out' })]);
    expect(consents.ledger).toEqual([expect.objectContaining({ channel: 'sms', action: 'opt_out', source: 'sms_keyword', evidence: '退订。' })]);
    const timeline = await h.getJson(`/api/customers/${wecomCustomer.id}/timeline`);
    expect(timeline.items).toEqual(expect.arrayContaining([expect.objectContaining({ channel: 'sms', direction: 'in', kind: 'message', text: '退订。' }), expect.objectContaining({ kind: 'opt_out' })]));

    const d = await deliveryReaches(h, deliveryId, 'suppressed');
    expect(d.errorCode).toBe('opted_out');
    expect(fake.calls).toHaveLength(0);
  });

  it('a staff SMS is sent through Tencent and ends delivered after the status callback; a failed one ends failed with the carrier code', async () => {
    await postJson(h, hook, { mobile: '13800138000', nationcode: '86', sign: '咖啡小店', text: '你好', time: nowSeconds() - 30 });
    const customer = await customerByPhone(h);

    const first = await sendByApi(h, customer.id, { template: { templateId: '1110001', params: ['王哥', '3'] }, text: '王哥，您的咖啡豆大约还能喝3天。' });
    const sent = await deliveryReaches(h, first.id, 'sent');
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]).toMatchObject({ phone: PHONE, sessionContext: first.id, templateId: '1110001', params: ['王哥', '3'], sign: '咖啡小店' });
    expect(sent.providerRef).toBe(fake.sent[0].serialNo);

    const second = await sendByApi(h, customer.id, { template: { templateId: '1110001', params: ['王哥', '5'] } });
    await deliveryReaches(h, second.id, 'sent');
    const serial2 = fake.sent[1].serialNo;

    const now = beijing(new Date());
    const res = await postJson(h, hook, [
      { user_receive_time: now, nationcode: '86', mobile: '13800138000', report_status: 'SUCCESS', errmsg: 'DELIVRD', description: '用户短信送达成功', sid: fake.sent[0].serialNo },
      { user_receive_time: now, nationcode: '86', mobile: '13800138000', report_status: 'FAIL', errmsg: 'MK:0005', description: '空号', sid: serial2 },
    ]);
    expect(res.status).toBe(200);
    const delivered = await deliveryReaches(h, first.id, 'delivered');
    expect(delivered.deliveredAt).not.toBeNull();
    const failed = await deliveryReaches(h, second.id, 'failed');
    expect(failed).toMatchObject({ errorCode: 'MK:0005', errorText: '空号' });
  });

  it('a transient Tencent error leaves the delivery queued and the retry sends it; a blocklisted number fails at once', async () => {
    await postJson(h, hook, { mobile: '13800138000', nationcode: '86', sign: '咖啡小店', text: '你好', time: nowSeconds() - 30 });
    const customer = await customerByPhone(h);

    fake.failNext({ kind: 'error', code: 'InternalError.Timeout', message: 'request timeout' });
    const d = await sendByApi(h, customer.id, { template: { templateId: '1110002', params: [] }, text: '您的订单已发货' });
    const queued = await waitFor(async () => {
      const x = await delivery(h, d.id);
      return x.errorCode ? x : null;
    }, 10_000, 'first attempt');
    expect(queued).toMatchObject({ status: 'queued', errorCode: 'InternalError.Timeout', attempts: 1 });
    const sent = await deliveryReaches(h, d.id, 'sent');
    expect(sent).toMatchObject({ attempts: 2, errorCode: null, providerRef: fake.sent[0].serialNo });

    fake.blacklist.add('+8613900139000');
    await postJson(h, hook, { mobile: '13900139000', nationcode: '86', sign: '咖啡小店', text: '在吗', time: nowSeconds() - 30 });
    const other = await customerByPhone(h, '+8613900139000');
    const blocked = await sendByApi(h, other.id, { template: { templateId: '1110002', params: [] }, text: '您的订单已发货' });
    const failed = await deliveryReaches(h, blocked.id, 'failed');
    expect(failed).toMatchObject({ errorCode: 'FailedOperation.PhoneNumberInBlacklist', attempts: 1 });
    expect(fake.sent).toHaveLength(1);
  }, 30_000);

  it('the same reply delivered three times is one timeline entry', async () => {
    const reply = { mobile: '13800138000', nationcode: '86', sign: '咖啡小店', text: '什么时候到货？', time: nowSeconds() - 10 };
    for (let i = 0; i < 3; i++) expect((await postJson(h, hook, reply)).status).toBe(200);
    await allProcessed(h);
    const customer = await customerByPhone(h);
    const timeline = await h.getJson(`/api/customers/${customer.id}/timeline`);
    expect(timeline.items.filter((i: any) => i.kind === 'message')).toHaveLength(1);
  });

  it('free text through Tencent (template only: capabilities.freeText is false) → 400 naming template, nothing stored or sent', async () => {
    await postJson(h, hook, { mobile: '13800138000', nationcode: '86', sign: '咖啡小店', text: '你好', time: nowSeconds() - 30 });
    const customer = await customerByPhone(h);
    const res = await h.request(`/api/customers/${customer.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'sms', actor: 'zhangsan', text: '王哥，您的咖啡豆到了' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toEqual({ code: 'bad_request', message: 'template: SMS through tencent needs a provider-approved template' });
    const [row] = await h.app.db.query(`SELECT COUNT(*) AS n FROM delivery WHERE customer_id = ?`, [customer.id]);
    expect(Number(row.n)).toBe(0);
    expect(fake.sent).toHaveLength(0);
  });
});

// ------------------------------------------------------------------------------------------ Aliyun
describe('SMS end to end — Aliyun', () => {
  let h: Harness;
  let fake: FakeAliyunSms;
  const hook = `/webhooks/sms/aliyun/${TOKEN}`;
  beforeEach(async () => {
    fake = await startFakeAliyunSms();
    h = await startHarness({
      worker: true,
      env: { ...fake.env(), SMS_WEBHOOK_TOKEN: TOKEN },
    });
  });
  afterEach(async () => {
    await h.close();
    await fake.close();
  });

  const up = (over: Record<string, unknown> = {}) => ({ phone_number: '13800138000', send_time: beijing(new Date(Date.now() - 20_000)), content: '你好', sign_name: '咖啡小店', dest_code: '1234', sequence_id: 555001, ...over });

  it('an uplink from an unknown number makes a customer; the push delivered twice is one timeline entry; "TD" opts out', async () => {
    for (let i = 0; i < 2; i++) expect((await postJson(h, hook, [up()])).status).toBe(200);
    await allProcessed(h);
    const customer = await customerByPhone(h);
    let timeline = await h.getJson(`/api/customers/${customer.id}/timeline`);
    expect(timeline.items.filter((i: any) => i.kind === 'message')).toEqual([expect.objectContaining({ channel: 'sms', direction: 'in', text: '你好' })]);

    await postJson(h, hook, [up({ sequence_id: '555002', content: 'ＴＤ', send_time: beijing(new Date(Date.now() - 10_000)) })]);
    await allProcessed(h);
    const consents = await h.getJson(`/api/customers/${customer.id}/consents`);
    expect(consents.current).toEqual([expect.objectContaining({ channel: 'sms', status: 'opted_out' })]);
    timeline = await h.getJson(`/api/customers/${customer.id}/timeline`);
    expect(timeline.items.filter((i: any) => i.kind === 'message')).toHaveLength(2);
  });

  it('a staff SMS goes out with our id in OutId and is matched back by it: delivered, then a failed one with Aliyun’s code', async () => {
    await postJson(h, hook, [up()]);
    const customer = await customerByPhone(h);
    const d1 = await sendByApi(h, customer.id, { template: { templateId: 'SMS_100001', params: ['王哥', '3'] } });
    const sent = await deliveryReaches(h, d1.id, 'sent');
    expect(fake.sent[0]).toMatchObject({ phone: '13800138000', outId: d1.id, templateParam: { name: '王哥', days: '3' } });
    expect(sent.providerRef).toBe(fake.sent[0].bizId);
    const d2 = await sendByApi(h, customer.id, { template: { templateId: 'SMS_100001', params: ['王哥', '5'] } });
    await deliveryReaches(h, d2.id, 'sent');

    const report = (over: Record<string, unknown>) => ({ phone_number: '13800138000', send_time: beijing(new Date()), report_time: beijing(new Date()), success: true, err_code: 'DELIVERED', err_msg: '用户接收成功', sms_size: '1', ...over });
    const res = await postJson(h, hook, [report({ biz_id: fake.sent[0].bizId, out_id: d1.id }), report({ biz_id: fake.sent[1].bizId, out_id: d2.id, success: false, err_code: 'MK:0001', err_msg: '停机' })]);
    expect(res.status).toBe(200);
    await deliveryReaches(h, d1.id, 'delivered');
    expect(await deliveryReaches(h, d2.id, 'failed')).toMatchObject({ errorCode: 'MK:0001', errorText: '停机' });
  });
});

// ------------------------------------------------------------------------------------------ Twilio
describe('SMS end to end — Twilio', () => {
  let h: Harness;
  let fake: FakeTwilio;
  beforeEach(async () => {
    fake = await startFakeTwilio();
    h = await startHarness({
      worker: true,
      env: fake.env(),
    });
    // the app's port is only known now: point StatusCallback at it (as SMS_PUBLIC_BASE_URL would in production)
    h.app.adapters.sms = new TwilioSmsAdapter(h.config.sms.twilio!, { statusCallback: (ref) => twilioStatusCallbackUrl(h.url, ref) });
  });
  afterEach(async () => {
    await h.close();
    await fake.close();
  });

  const inbound = async (body: string, from = '+14158675309') => {
    const params = { AccountSid: fake.accountSid, ApiVersion: '2010-04-01', Body: body, From: from, To: '+14155550100', MessageSid: twilioSid('SM'), NumMedia: '0', NumSegments: '1', SmsStatus: 'received' };
    const url = `${h.url}/webhooks/sms/twilio`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilioRequest(fake.authToken, url, params) }, body: new URLSearchParams(params).toString() });
    expect(res.status).toBe(200);
    await allProcessed(h);
  };

  it('STOP opts out and START opts back in, both in the ledger with the words that caused them', async () => {
    await inbound('Stop');
    const customer = await customerByPhone(h, '+14158675309');
    expect((await h.getJson(`/api/customers/${customer.id}/consents`)).current).toEqual([expect.objectContaining({ channel: 'sms', status: 'opted_out' })]);
    await new Promise((r) => setTimeout(r, 20)); // the opt-in is the newer word
    await inbound('START');
    const consents = await h.getJson(`/api/customers/${customer.id}/consents`);
    expect(consents.current).toEqual([expect.objectContaining({ channel: 'sms', status: 'opted_in' })]);
    expect(consents.ledger.map((e: any) => [e.action, e.evidence])).toEqual([
      ['opt_in', 'START'],
      ['opt_out', 'Stop'],
    ]);
  });

  it('a staff SMS ends delivered by Twilio’s signed status callback; a send to an unsubscribed number fails with 21610', async () => {
    await inbound('hi');
    const customer = await customerByPhone(h, '+14158675309');
    const d = await sendByApi(h, customer.id, { text: 'Your beans ship today' });
    const sent = await deliveryReaches(h, d.id, 'sent');
    expect(fake.sent[0]).toMatchObject({ to: '+14158675309', body: 'Your beans ship today' });
    expect(sent.providerRef).toBe(fake.sent[0].sid);
    expect((await fake.statusCallback(fake.sent[0].sid, 'sent')).status).toBe(200);
    expect((await fake.statusCallback(fake.sent[0].sid, 'delivered')).status).toBe(200);
    await deliveryReaches(h, d.id, 'delivered');

    fake.unsubscribed.add('+14158675309');
    const refused = await sendByApi(h, customer.id, { text: 'Another one' });
    expect(await deliveryReaches(h, refused.id, 'failed')).toMatchObject({ errorCode: '21610', attempts: 1 });
  });
});
