// The WeCom welcome end to end: an add_external_contact callback with a WelcomeCode → the welcome
// campaign's text through externalcontact/send_welcome_msg within the code's 20 s, once; a customer we
// already know is welcomed without waiting for externalcontact/get; 41051 (used) and 41050 (expired)
// end the delivery with their code and are never retried; a disabled campaign sends nothing.
import { nowSeconds, startHarness, waitFor, wecomEventXml, type Harness } from '../support/harness';

const EXT = 'wmWELCOME000000000000000000001';

const welcomeCampaign = (over: Record<string, unknown> = {}) => ({
  enabled: true,
  channels: ['wecom'],
  templates: { wecom: { text: '{{name}}您好，欢迎来到{{store}}！' } },
  coupon: null,
  sendAt: '10:00',
  params: {},
  ...over,
});

describe('WeCom welcome', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ worker: true, env: { STORE_NAME: '豆仓咖啡' } });
    h.fake.contacts.set(EXT, {
      external_contact: { external_userid: EXT, name: '王哥', type: 1 },
      follow_user: [{ userid: 'zhangsan', remark: '王哥 老客', createtime: nowSeconds(), tags: [] }],
    });
  });
  afterEach(() => h.close());

  const putCampaign = async (body: unknown) => {
    const res = await h.request('/api/campaigns/welcome', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  };
  const addEvent = (extra: Record<string, string | number> = {}) =>
    wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds(), MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: EXT, ...extra });
  const welcomeCalls = () => h.fake.calls.filter((c) => c.path === 'externalcontact/send_welcome_msg');
  const welcomeDelivery = () =>
    waitFor(async () => {
      const [d] = await h.app.db.query(`SELECT * FROM delivery WHERE idempotency_key LIKE 'welcome:%'`);
      return d && d.status !== 'queued' ? d : null;
    }, 15_000, 'the welcome delivery');
  const allProcessed = () =>
    waitFor(async () => Number((await h.app.db.query(`SELECT COUNT(*) AS n FROM inbound_event WHERE status <> 'processed'`))[0].n) === 0, 10_000, 'events processed');

  it('a new contact is welcomed with the campaign text and their name within the code’s 20 s, once', async () => {
    await putCampaign(welcomeCampaign());
    const code = h.fake.issueWelcomeCode();
    const issuedAt = Date.now();
    expect((await h.sendCallback(addEvent({ WelcomeCode: code, State: 'shop-qr' }))).status).toBe(200);
    const d = await welcomeDelivery();
    expect(d).toMatchObject({ channel: 'wecom', provider: 'wecom_welcome', purpose: 'welcome', status: 'delivered', to_address: EXT, staff_user_id: 'zhangsan' });
    expect(h.fake.welcomes).toEqual([{ code, text: '王哥您好，欢迎来到豆仓咖啡！', at: expect.any(Number) }]);
    expect(h.fake.welcomes[0].at - issuedAt).toBeLessThan(20_000);
    const [ev] = await h.app.db.query(`SELECT id FROM inbound_event WHERE type = 'event/change_external_contact/add_external_contact'`);
    expect(d.idempotency_key).toBe(`welcome:${ev.id}`);

    // WeCom redelivers the callback (a retry): still one welcome
    await allProcessed();
    await h.app.db.query(`UPDATE inbound_event SET status = 'received' WHERE id = ?`, [ev.id]);
    await h.app.enqueueInbound(String(ev.id));
    await allProcessed();
    await new Promise((r) => setTimeout(r, 300));
    expect(welcomeCalls()).toHaveLength(1);
    expect(Number((await h.app.db.query(`SELECT COUNT(*) AS n FROM delivery WHERE purpose = 'welcome'`))[0].n)).toBe(1);
  });

  it('a customer we already know is welcomed while externalcontact/get is still on its way', async () => {
    await putCampaign(welcomeCampaign());
    // first add (no code): the customer is stored
    expect((await h.sendCallback(addEvent({ CreateTime: nowSeconds() - 120 }))).status).toBe(200);
    await allProcessed();
    // they delete zhangsan, then add him again: this add carries a WelcomeCode; WeCom's contact API is slow
    expect((await h.sendCallback(addEvent({ ChangeType: 'del_follow_user', CreateTime: nowSeconds() - 60 }))).status).toBe(200);
    await allProcessed();
    const held = h.fake.hold('externalcontact/get');
    try {
      const code = h.fake.issueWelcomeCode();
      expect((await h.sendCallback(addEvent({ WelcomeCode: code }))).status).toBe(200);
      const d = await welcomeDelivery();
      expect(d.status).toBe('delivered');
      expect(h.fake.welcomes.map((w) => w.code)).toEqual([code]);
      // the enrichment is still waiting for WeCom
      const [ev] = await h.app.db.query(`SELECT status FROM inbound_event ORDER BY id DESC LIMIT 1`);
      expect(ev.status).not.toBe('processed');
    } finally {
      held.release();
    }
    await allProcessed();
  });

  it('41051 (the code was already used by another app) ends the delivery suppressed with the code, not retried', async () => {
    await putCampaign(welcomeCampaign());
    const code = h.fake.issueWelcomeCode();
    h.fake.failNext('externalcontact/send_welcome_msg', { errcode: 41051, errmsg: 'externalcontact welcome code already used' });
    expect((await h.sendCallback(addEvent({ WelcomeCode: code }))).status).toBe(200);
    const d = await welcomeDelivery();
    expect(d).toMatchObject({ status: 'suppressed', error_code: '41051', attempts: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(welcomeCalls()).toHaveLength(1);
    expect(h.fake.welcomes).toHaveLength(0);
  });

  it('41050 (the code expired) ends the delivery failed with the code, not retried', async () => {
    await putCampaign(welcomeCampaign());
    const code = h.fake.issueWelcomeCode();
    // WeCom's clock runs 21 s ahead: the code has expired by the time we use it
    const real = h.fake.clock;
    h.fake.clock = () => real() + 21_000;
    expect((await h.sendCallback(addEvent({ WelcomeCode: code }))).status).toBe(200);
    const d = await welcomeDelivery();
    expect(d).toMatchObject({ status: 'failed', error_code: '41050', attempts: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(welcomeCalls()).toHaveLength(1);
  });

  it('a disabled welcome campaign (or none saved) sends nothing; a coupon rule issues a coupon with the welcome', async () => {
    expect((await h.sendCallback(addEvent({ WelcomeCode: h.fake.issueWelcomeCode(), CreateTime: nowSeconds() - 30 }))).status).toBe(200);
    await allProcessed();
    await putCampaign(welcomeCampaign({ enabled: false }));
    expect((await h.sendCallback(addEvent({ WelcomeCode: h.fake.issueWelcomeCode(), CreateTime: nowSeconds() - 20 }))).status).toBe(200);
    await allProcessed();
    await new Promise((r) => setTimeout(r, 500));
    expect(welcomeCalls()).toHaveLength(0);
    expect(Number((await h.app.db.query(`SELECT COUNT(*) AS n FROM delivery`))[0].n)).toBe(0);

    await putCampaign(
      welcomeCampaign({ templates: { wecom: { text: '{{name}}您好！新客券 {{coupon.code}}，{{coupon.value}}元，{{coupon.expiresAt}}前有效。' } }, coupon: { value: 10, validDays: 7, prefix: 'HI-' } }),
    );
    const code = h.fake.issueWelcomeCode();
    expect((await h.sendCallback(addEvent({ WelcomeCode: code }))).status).toBe(200);
    const d = await welcomeDelivery();
    expect(d.status).toBe('delivered');
    const [coupon] = await h.app.db.query(`SELECT code, value, delivery_id, campaign FROM coupon`);
    expect(coupon).toMatchObject({ campaign: 'welcome', value: '10.00' });
    expect(String(coupon.delivery_id)).toBe(String(d.id));
    expect(h.fake.welcomes[0].text).toMatch(new RegExp(`^王哥您好！新客券 ${coupon.code}，10元，\\d{4}-\\d{2}-\\d{2}前有效。$`));
  });
});
