// The send queues: one Bull queue per channel (job id `delivery:<id>`), a send due in quiet hours
// re-scheduled as a delayed job to the window's start (not dropped), retry delays (WeCom 45009 waits out
// its window, permanent errors are not retried), and the 45009 gate escalating from a minute to an hour.
import Redis from 'ioredis';
import { ProviderError } from '../../channels/channel';
import { WeComApi, type TokenStore } from '../../channels/wecom/api';
import { DEFAULT_POLICY, savePolicy } from '../../src/sending/contact-policy';
import { createDelivery } from '../../src/sending/deliveries';
import { sendBackoff } from '../../src/platform/queues';
import { inTransaction } from '../../src/platform/tx';
import { startFakeTencentSms, type FakeTencentSms } from '../fakes/tencent-sms.fake';
import { startHarness, waitFor, WECOM, type Harness } from '../support/harness';
import { TEST_REDIS_URL } from '../support/env';

describe('send queues', () => {
  let h: Harness;
  let sms: FakeTencentSms;
  // the worker's clock: 22:00 in Shanghai, inside the default quiet hours
  const at2200 = new Date('2026-03-10T22:00:00+08:00');
  beforeAll(async () => {
    sms = await startFakeTencentSms();
    h = await startHarness({
      now: () => at2200,
      env: sms.env(),
    });
  });
  afterAll(async () => {
    await h.close();
    await sms.close();
  });

  async function delivery(channel: 'sms' | 'email' | 'wecom', marketing: boolean): Promise<string> {
    const res = await h.app.db.query(`INSERT INTO customer (phone, email, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, ?, 0)`, [
      `+86137${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
      'q@example.com',
      at2200,
      at2200,
      at2200,
    ]);
    const customerId = String(res.insertId);
    const { id } = await inTransaction(h.app.db, (em) =>
      createDelivery(
        em,
        {
          customerId,
          channel,
          provider: channel === 'sms' ? 'tencent' : channel === 'email' ? 'smtp' : 'wecom',
          purpose: marketing ? 'birthday' : 'manual',
          marketing,
          idempotencyKey: `q:${customerId}`,
          toAddress: channel === 'sms' ? '+8613700000000' : channel === 'email' ? 'q@example.com' : 'wmQ',
          content: { text: '生日快乐。拒收请回复R', templateId: '1110001', signName: '咖啡小店', params: ['王哥', '8'] },
        },
        at2200,
      ),
    );
    return id;
  }

  it('each channel has its own queue; the job id is delivery:<id>', async () => {
    const ids = { sms: await delivery('sms', false), email: await delivery('email', false), wecom: await delivery('wecom', false) };
    for (const [channel, id] of Object.entries(ids)) await h.app.enqueueSend(id, 60_000);
    for (const [channel, id] of Object.entries(ids) as ['sms' | 'email' | 'wecom', string][]) {
      const job = await h.app.queues.send[channel].getJob(`delivery:${id}`);
      expect(job?.data).toEqual({ deliveryId: id });
      for (const other of ['sms', 'email', 'wecom'] as const) if (other !== channel) expect(await h.app.queues.send[other].getJob(`delivery:${id}`)).toBeNull();
    }
    expect(h.app.queues.send.sms.name).toBe('send-sms');
    for (const q of Object.values(h.app.queues.send)) await q.empty();
    await Promise.all(Object.values(h.app.queues.send).map((q) => q.clean(0, 'delayed')));
  });

  it('a marketing SMS due at 22:00 is re-scheduled as a delayed job for 09:00, and nothing is sent', async () => {
    await savePolicy(h.app.db, DEFAULT_POLICY, 'test', new Date());
    const id = await delivery('sms', true);
    h.startWorker();
    try {
      await h.app.enqueueSend(id);
      const job = await waitFor(async () => {
        const j = await h.app.queues.send.sms.getJob(`delivery:${id}`);
        return j && (await j.getState()) === 'delayed' ? j : null;
      }, 10_000, 'the delayed job');
      // 11 hours from the worker's 22:00 to 09:00
      expect(job.opts.delay).toBe(11 * 3600_000);
      const [row] = await h.app.db.query(`SELECT status, not_before, error_code FROM delivery WHERE id = ?`, [id]);
      expect(row).toMatchObject({ status: 'queued', not_before: new Date('2026-03-11T09:00:00+08:00'), error_code: null });
      expect(sms.sent).toHaveLength(0);
      await job.remove();
    } finally {
      await h.worker!.stop();
      h.worker = null;
    }
  });

  it('retry delays: a rate-limit window is waited out (with a little jitter), permanent errors are not retried, the rest back off exponentially', () => {
    const limited = new ProviderError('wecom: frequency limit', '45009', false, 60_000);
    for (let i = 0; i < 20; i++) {
      const d = sendBackoff(1, limited, 5000);
      expect(d).toBeGreaterThanOrEqual(60_000);
      expect(d).toBeLessThanOrEqual(66_000);
    }
    expect(sendBackoff(1, new ProviderError('bad number', 'InvalidPhone', true), 5000)).toBe(-1);
    const first = sendBackoff(1, new ProviderError('busy', '-1', false), 5000);
    const fourth = sendBackoff(4, new ProviderError('busy', '-1', false), 5000);
    expect(first).toBeGreaterThanOrEqual(2500);
    expect(first).toBeLessThanOrEqual(7500);
    expect(fourth).toBeGreaterThanOrEqual(20_000);
    expect(fourth).toBeLessThanOrEqual(60_000);
  });

  it('45009 blocks the API for every process: for the minute window, then for the hour window when it comes back at once', async () => {
    const store = new Redis(TEST_REDIS_URL);
    try {
      const api = (s: Redis) => new WeComApi({ apiBase: h.fake.base, corpId: WECOM.corpId, store: s as unknown as TokenStore, frequencyWindowsMs: [1000, 3000] }, { contact: 'contact-secret', agent: null, kf: null });
      const a = api(store);
      const b = api(h.app.redis);
      const calls = () => h.fake.calls.filter((c) => c.path === 'externalcontact/add_msg_template').length;
      const req = { external_userid: ['wmNOBODY'], sender: 'zhangsan', text: { content: 'hi' } };
      h.fake.failNext('externalcontact/add_msg_template', { errcode: 45009, errmsg: 'api freq out of limit' });
      const first = await a.addMsgTemplate(req).catch((e) => e);
      expect(first).toMatchObject({ code: 45009, retryAfterMs: 1000 });
      // another process asks during the window: refused without a call
      const held = await b.addMsgTemplate(req).catch((e) => e);
      expect(held.code).toBe(45009);
      expect(held.retryAfterMs).toBeGreaterThan(0);
      expect(calls()).toBe(1);
      await new Promise((r) => setTimeout(r, 1050));
      // the minute is over; WeCom still refuses (within the next minute): now it is the hour
      h.fake.failNext('externalcontact/add_msg_template', { errcode: 45009, errmsg: 'api freq out of limit' });
      expect(await b.addMsgTemplate(req).catch((e) => e)).toMatchObject({ code: 45009, retryAfterMs: 3000 });
      expect(calls()).toBe(2);
      await new Promise((r) => setTimeout(r, 1100));
      // longer than a minute window, but the hour still holds
      expect((await a.addMsgTemplate(req).catch((e) => e)).code).toBe(45009);
      expect(calls()).toBe(2);
      await new Promise((r) => setTimeout(r, 2000));
      expect((await a.addMsgTemplate(req)).msgid).toMatch(/^msg/);
      expect(calls()).toBe(3);
    } finally {
      store.disconnect();
    }
  });
});
