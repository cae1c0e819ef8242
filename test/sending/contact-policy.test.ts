// The contact policy at send time, against the real database and the real SMS/email adapters talking
// to local fakes (Tencent SMS, SMTP). Time travels through `now`: quiet hours, the conversation pause,
// caps across channels, WeCom's limits, an opt-out between enqueue and send, and two sends racing.
import { recordConsent } from '../../src/consent/consent';
import { checkPolicy, DEFAULT_POLICY, quietHoursEnd, savePolicy, type PolicyDelivery } from '../../src/sending/contact-policy';
import { startOfLocalDay } from '../../src/platform/store-time';
import { createDelivery, deliver } from '../../src/sending/deliveries';
import type { Domain } from '../../src/platform/domain';
import { routeDelivery } from '../../src/outreach/routing';
import { appendTimeline } from '../../src/customers/timeline';
import { inTransaction } from '../../src/platform/tx';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp.fake';
import { startFakeTencentSms, type FakeTencentSms } from '../fakes/tencent-sms.fake';
import { startHarness, waitFor, type Harness } from '../support/harness';

const TZ = 'Asia/Shanghai';
/** Shanghai wall-clock time on a March 2026 day as an instant (UTC+8, no DST). */
const sh = (day: number, hhmm: string) => new Date(`2026-03-${String(day).padStart(2, '0')}T${hhmm}:00+08:00`);

describe('contact policy', () => {
  let h: Harness;
  let sms: FakeTencentSms;
  let smtp: FakeSmtp;
  let seq = 0;

  beforeAll(async () => {
    sms = await startFakeTencentSms();
    smtp = await startFakeSmtp();
    h = await startHarness({
      env: {
        ...sms.env(),
        ...smtp.env(),
        PUBLIC_BASE_URL: 'https://crm.shop.example',
        UNSUBSCRIBE_SECRET: 'unsubscribe-secret-0123456789-abcdefghij',
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await sms.close();
    await smtp.close();
  });
  beforeEach(async () => {
    await savePolicy(h.app.db, DEFAULT_POLICY, 'test', new Date());
    sms.sent.length = 0;
    smtp.messages.length = 0;
  });

  const deps = (at: Date): Domain => ({ ...h.app.domain, now: () => at, timeZone: TZ });

  async function customer(c: { phone?: string; email?: string } = {}): Promise<string> {
    const n = ++seq;
    const t = sh(1, '12:00');
    const res = await h.app.db.query(`INSERT INTO customer (name, phone, email, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, ?, ?, 0)`, [
      `王哥${n}`,
      c.phone ?? `+86138${String(10_000_000 + n).slice(-8)}`,
      c.email ?? `c${n}@example.com`,
      t,
      t,
      t,
    ]);
    return String(res.insertId);
  }

  async function queue(customerId: string, channel: 'sms' | 'email', opts: { marketing?: boolean; purpose?: string; provider?: string } = {}): Promise<string> {
    const [c] = await h.app.db.query(`SELECT phone, email FROM customer WHERE id = ?`, [customerId]);
    const { id } = await inTransaction(h.app.db, (em) =>
      createDelivery(
        em,
        {
          customerId,
          channel,
          provider: opts.provider ?? (channel === 'sms' ? 'tencent' : 'smtp'),
          purpose: opts.purpose ?? 'birthday',
          marketing: opts.marketing ?? true,
          idempotencyKey: `test:${customerId}:${++seq}`,
          toAddress: channel === 'sms' ? c.phone : c.email,
          content:
            channel === 'sms'
              ? { text: '王哥生日快乐，送您一张8折券。拒收请回复R', templateId: '1110001', signName: '咖啡小店', params: ['王哥', '8'] }
              : { text: '生日快乐', subject: '王哥，生日快乐', unsubscribeUrl: 'https://crm.shop.example/unsubscribe/x' },
        },
        sh(1, '12:00'),
      ),
    );
    return id;
  }

  const row = async (id: string) => (await h.app.db.query(`SELECT * FROM delivery WHERE id = ?`, [id]))[0];

  describe('quiet hours (21:00–09:00 store time)', () => {
    it('a message due at 22:00 waits until 09:00 the next morning, is not dropped, and then goes out', async () => {
      const c = await customer();
      const id = await queue(c, 'sms');
      const report = await deliver(deps(sh(10, '22:00')), id, false);
      expect(report).toEqual({ outcome: 'waiting', waitUntil: sh(11, '09:00') });
      expect(await row(id)).toMatchObject({ status: 'queued', not_before: sh(11, '09:00'), error_code: null, counted_at: null });
      expect(sms.sent).toHaveLength(0);

      // a retry that runs early (before not_before) waits again for the same instant
      expect(await deliver(deps(sh(11, '08:59')), id, false)).toEqual({ outcome: 'waiting', waitUntil: sh(11, '09:00') });
      // at 09:00 it goes
      expect((await deliver(deps(sh(11, '09:00')), id, false)).outcome).toBe('sent');
      expect(sms.sent).toHaveLength(1);
      expect(await row(id)).toMatchObject({ status: 'sent', counted_at: sh(11, '09:00') });
    });

    it('just after midnight waits for the same morning; the window is store-local; null quiet hours means none', async () => {
      const p = DEFAULT_POLICY;
      expect(quietHoursEnd(p, sh(11, '00:30'), TZ)).toEqual(sh(11, '09:00'));
      expect(quietHoursEnd(p, sh(11, '20:59'), TZ)).toBeNull();
      expect(quietHoursEnd(p, sh(11, '21:00'), TZ)).toEqual(sh(12, '09:00'));
      expect(quietHoursEnd(p, sh(11, '09:00'), TZ)).toBeNull();
      // 22:00 in Shanghai is 14:00 UTC: in London the same instant is afternoon, not quiet
      expect(quietHoursEnd(p, sh(10, '22:00'), 'Europe/London')).toBeNull();
      // a daytime window (12:00–14:00) does not wrap
      expect(quietHoursEnd({ ...p, quietHours: { start: '12:00', end: '14:00' } }, sh(11, '13:00'), TZ)).toEqual(sh(11, '14:00'));
      expect(quietHoursEnd({ ...p, quietHours: { start: '12:00', end: '14:00' } }, sh(11, '22:00'), TZ)).toBeNull();

      await savePolicy(h.app.db, { ...p, quietHours: null }, 'test', new Date());
      const c = await customer();
      const id = await queue(c, 'email');
      expect((await deliver(deps(sh(10, '23:30')), id, false)).outcome).toBe('sent');
      expect(smtp.messages).toHaveLength(1);
    });

    it('the store-local day start is right across midnight and daylight-saving days (it is remembered between calls)', () => {
      expect(startOfLocalDay(sh(10, '23:59'), TZ)).toEqual(sh(10, '00:00'));
      expect(startOfLocalDay(sh(11, '00:00'), TZ)).toEqual(sh(11, '00:00'));
      expect(startOfLocalDay(sh(10, '12:00'), TZ)).toEqual(sh(10, '00:00'));
      // New York springs forward on 2026-03-08: that day starts at 05:00 UTC, the next at 04:00 UTC
      const ny = 'America/New_York';
      expect(startOfLocalDay(new Date('2026-03-08T12:00:00Z'), ny)).toEqual(new Date('2026-03-08T05:00:00Z'));
      expect(startOfLocalDay(new Date('2026-03-09T03:59:00Z'), ny)).toEqual(new Date('2026-03-08T05:00:00Z'));
      expect(startOfLocalDay(new Date('2026-03-09T04:00:00Z'), ny)).toEqual(new Date('2026-03-09T04:00:00Z'));
    });

    it('a staff member’s own message is not held by quiet hours', async () => {
      const c = await customer();
      const id = await queue(c, 'sms', { marketing: false, purpose: 'manual' });
      expect((await deliver(deps(sh(10, '23:30')), id, false)).outcome).toBe('sent');
    });
  });

  describe('the conversation pause', () => {
    it('no automated message to a customer who messaged us in the last 2 hours (timeline or last_inbound_at)', async () => {
      const c = await customer();
      await inTransaction(h.app.db, (em) =>
        appendTimeline(em, { customerId: c, channel: 'sms', direction: 'in', kind: 'message', text: '豆子到了吗', occurredAt: sh(10, '10:00'), providerId: `in:${c}` }, new Date()),
      );
      const first = await queue(c, 'sms');
      expect(await deliver(deps(sh(10, '11:59')), first, false)).toEqual({ outcome: 'suppressed' });
      expect(await row(first)).toMatchObject({ status: 'suppressed', error_code: 'in_conversation' });
      // two hours later it may go
      const second = await queue(c, 'sms');
      expect((await deliver(deps(sh(10, '12:01')), second, false)).outcome).toBe('sent');

      // kept on the customer row (by the inbound path) counts the same
      const other = await customer();
      await h.app.db.query(`UPDATE customer SET last_inbound_at = ? WHERE id = ?`, [sh(10, '15:30'), other]);
      const third = await queue(other, 'email');
      expect((await deliver(deps(sh(10, '16:00')), third, false)).outcome).toBe('suppressed');
      expect((await row(third)).error_code).toBe('in_conversation');

      // a pause of 0 hours switches the rule off
      await savePolicy(h.app.db, { ...DEFAULT_POLICY, conversationPauseHours: 0 }, 'test', new Date());
      expect((await deliver(deps(sh(10, '16:00')), await queue(other, 'email'), false)).outcome).toBe('sent');
    });
  });

  describe('caps across channels', () => {
    it('an SMS today blocks an email today; tomorrow (store-local) the email may go', async () => {
      const c = await customer();
      const smsId = await queue(c, 'sms');
      expect((await deliver(deps(sh(10, '10:00')), smsId, false)).outcome).toBe('sent');
      const emailId = await queue(c, 'email');
      expect(await deliver(deps(sh(10, '20:30')), emailId, false)).toEqual({ outcome: 'suppressed' });
      expect(await row(emailId)).toMatchObject({ status: 'suppressed', error_code: 'cap_per_day' });
      expect(smtp.messages).toHaveLength(0);
      // 09:00 the next day is a new store day (01:00 UTC: the UTC date changed at 08:00 Shanghai — not what counts)
      const next = await queue(c, 'email');
      expect((await deliver(deps(sh(11, '09:00')), next, false)).outcome).toBe('sent');
      expect(smtp.messages).toHaveLength(1);
      // staff messages are not counted and not capped
      expect((await deliver(deps(sh(11, '10:00')), await queue(c, 'sms', { marketing: false, purpose: 'manual' }), false)).outcome).toBe('sent');
    });

    it('four automated messages in 30 days are allowed, the fifth is suppressed; a failed send does not count', async () => {
      const c = await customer();
      for (const [i, day] of [1, 8, 15].entries()) {
        const id = await queue(c, i % 2 ? 'email' : 'sms');
        expect((await deliver(deps(sh(day, '10:00')), id, false)).outcome).toBe('sent');
      }
      // one that failed at the provider (blocklisted number) does not use up the cap
      const phone = (await h.app.db.query(`SELECT phone FROM customer WHERE id = ?`, [c]))[0].phone;
      sms.blacklist.add(phone);
      const failed = await queue(c, 'sms');
      expect((await deliver(deps(sh(18, '10:00')), failed, false)).outcome).toBe('failed');
      sms.blacklist.delete(phone);
      expect((await deliver(deps(sh(22, '10:00')), await queue(c, 'email'), false)).outcome).toBe('sent');
      const fifth = await queue(c, 'email');
      expect(await deliver(deps(sh(29, '10:00')), fifth, false)).toEqual({ outcome: 'suppressed' });
      expect(await row(fifth)).toMatchObject({ error_code: 'cap_per_30_days' });
      // 30 days after the first, one slot is free again
      const later = await queue(c, 'email');
      expect((await deliver(deps(sh(31, '10:30')), later, false)).outcome).toBe('sent');
    });

    it('caps are configurable: 2 a day lets the second through and stops the third', async () => {
      await savePolicy(h.app.db, { ...DEFAULT_POLICY, caps: { perDay: 2, per30Days: 10 } }, 'test', new Date());
      const c = await customer();
      expect((await deliver(deps(sh(10, '10:00')), await queue(c, 'sms'), false)).outcome).toBe('sent');
      expect((await deliver(deps(sh(10, '11:00')), await queue(c, 'email'), false)).outcome).toBe('sent');
      const third = await queue(c, 'email');
      expect((await deliver(deps(sh(10, '12:00')), third, false)).outcome).toBe('suppressed');
      expect((await row(third)).error_code).toBe('cap_per_day');
    });

    it('two sends for one customer at the same moment: exactly one goes out (the row lock serialises the check)', async () => {
      const customers = await Promise.all(Array.from({ length: 6 }, () => customer()));
      const pairs = await Promise.all(customers.map(async (c) => [await queue(c, 'sms'), await queue(c, 'email')]));
      const at = sh(12, '10:00');
      const outcomes = await Promise.all(pairs.map((pair) => Promise.all(pair.map((id) => deliver(deps(at), id, false).then((r) => r.outcome)))));
      for (const o of outcomes) expect([...o].sort()).toEqual(['sent', 'suppressed']);
      expect(sms.sent.length + smtp.messages.length).toBe(customers.length);
    });
  });

  describe('consent', () => {
    it('an opt-out recorded between enqueue and send suppresses the queued message (worker and queue included)', async () => {
      const c = await customer();
      const id = await queue(c, 'sms');
      await h.app.enqueueSend(id, 1500);
      await inTransaction(h.app.db, (em) => recordConsent(em, { customerId: c, channel: 'sms', action: 'opt_out', source: 'sms_keyword', evidence: '退订', occurredAt: new Date() }, new Date()));
      // quiet hours off so the real clock cannot make it wait
      await savePolicy(h.app.db, { ...DEFAULT_POLICY, quietHours: null }, 'test', new Date());
      h.startWorker();
      try {
        const d = await waitFor(async () => {
          const r = await row(id);
          return r.status !== 'queued' ? r : null;
        }, 10_000, 'the send job');
        expect(d).toMatchObject({ status: 'suppressed', error_code: 'opted_out' });
        expect(sms.sent).toHaveLength(0);
      } finally {
        await h.worker!.stop();
        h.worker = null;
      }
    });

    it('one who opted out of SMS and has no WeCom relation gets an email or nothing, never an SMS', async () => {
      await savePolicy(h.app.db, { ...DEFAULT_POLICY, quietHours: null }, 'test', new Date());
      const withEmail = await customer();
      const phoneOnly = await customer();
      await h.app.db.query(`UPDATE customer SET email = NULL WHERE id = ?`, [phoneOnly]);
      // an SMS queued for each before the opt-out
      const queuedSms = [await queue(withEmail, 'sms'), await queue(phoneOnly, 'sms')];
      for (const c of [withEmail, phoneOnly]) {
        await inTransaction(h.app.db, (em) => recordConsent(em, { customerId: c, channel: 'sms', action: 'opt_out', source: 'manual', actor: 'test', occurredAt: new Date() }, new Date()));
      }
      const channels = ['wecom', 'sms', 'email'] as const;
      const route = await routeDelivery(h.app.db, { customerId: withEmail, channels: [...channels] });
      expect(route).toEqual({ channel: 'email', toAddress: expect.stringContaining('@example.com') });
      expect(await routeDelivery(h.app.db, { customerId: phoneOnly, channels: [...channels] })).toEqual({ skip: 'opted_out' });

      const at = sh(14, '10:00');
      for (const id of queuedSms) expect(await deliver(deps(at), id, false)).toEqual({ outcome: 'suppressed' });
      expect((await deliver(deps(at), await queue(withEmail, 'email'), false)).outcome).toBe('sent');
      expect(sms.sent).toHaveLength(0);
      expect(smtp.messages).toHaveLength(1);
    });
  });

  describe('WeCom limits (checkPolicy)', () => {
    const wecomRow = async (c: string, provider: string, countedAt: Date | null, status = 'sent') => {
      const res = await h.app.db.query(
        `INSERT INTO delivery (customer_id, channel, provider, purpose, marketing, idempotency_key, status, to_address, content, counted_at, created_at, updated_at)
         VALUES (?, 'wecom', ?, 'birthday', 1, ?, ?, 'wmX', '{"text":"hi"}', ?, ?, ?)`,
        [c, provider, `w:${++seq}`, status, countedAt, sh(1, '00:00'), sh(1, '00:00')],
      );
      return String(res.insertId);
    };
    const asPolicy = async (id: string) => (await row(id)) as PolicyDelivery;

    it('a customer gets at most one WeCom mass message a day, even when the caps allow more', async () => {
      await savePolicy(h.app.db, { ...DEFAULT_POLICY, caps: { perDay: 5, per30Days: 20 } }, 'test', new Date());
      const c = await customer();
      await wecomRow(c, 'wecom', sh(10, '09:30'));
      const next = await wecomRow(c, 'wecom', null, 'queued');
      expect(await checkPolicy(h.app.db, await asPolicy(next), sh(10, '15:00'), { timeZone: TZ })).toEqual({ skip: 'wecom_mass_daily' });
      // an SMS the same day is fine (caps allow 5)
      const smsId = await queue(c, 'sms');
      expect(await checkPolicy(h.app.db, await asPolicy(smsId), sh(10, '15:00'), { timeZone: TZ })).toEqual({ ok: true });
      // WeCom's day is China's: the next morning is a new day
      expect(await checkPolicy(h.app.db, await asPolicy(next), sh(11, '09:01'), { timeZone: TZ })).toEqual({ ok: true });
    });

    it('WeChat customer service: only within 48 h of the customer’s last message, and at most 5 replies', async () => {
      await savePolicy(h.app.db, { ...DEFAULT_POLICY, caps: { perDay: 50, per30Days: 100 }, conversationPauseHours: 0 }, 'test', new Date());
      const c = await customer();
      const kf = await wecomRow(c, 'wecom_kf', null, 'queued');
      expect(await checkPolicy(h.app.db, await asPolicy(kf), sh(10, '12:00'), { timeZone: TZ })).toEqual({ skip: 'kf_window_closed' });
      await inTransaction(h.app.db, (em) =>
        appendTimeline(em, { customerId: c, channel: 'wecom_kf', direction: 'in', kind: 'text', text: '在吗', occurredAt: sh(8, '13:00'), providerId: `kf:${c}` }, new Date()),
      );
      expect(await checkPolicy(h.app.db, await asPolicy(kf), sh(10, '12:00'), { timeZone: TZ })).toEqual({ ok: true });
      expect(await checkPolicy(h.app.db, await asPolicy(kf), sh(10, '13:01'), { timeZone: TZ })).toEqual({ skip: 'kf_window_closed' });
      for (let i = 0; i < 5; i++) await wecomRow(c, 'wecom_kf', sh(9, `1${i}:00`));
      expect(await checkPolicy(h.app.db, await asPolicy(kf), sh(10, '12:00'), { timeZone: TZ })).toEqual({ skip: 'kf_reply_limit' });
    });
  });
});
