// WeCom outbound end to end, with the worker and the WeCom API played by the local fake: a campaign
// delivery routed through the staff member who owns the customer becomes an add_msg_template task plus
// an app card telling that staff member why; polling get_groupmsg_send_result records the outcome.
// A 45009 makes every sender wait out WeCom's window instead of hammering it. A customer who deletes a
// staff member gets that staff member an alert with their recent history, once per event.
import { DEFAULT_POLICY, savePolicy } from '../../src/sending/contact-policy';
import { createDelivery } from '../../src/sending/deliveries';
import { routeDelivery } from '../../src/outreach/routing';
import { inTransaction } from '../../src/platform/tx';
import { pollMassTaskResults } from '../../src/sending/wecom-task-results';
import { nowSeconds, startHarness, waitFor, wecomEventXml, type Harness } from '../support/harness';

const EXT = 'wmOUT0000000000000000000000001';
const EXT2 = 'wmOUT0000000000000000000000002';

describe('WeCom outbound', () => {
  let h: Harness;
  beforeEach(async () => {
    // 45009 windows shortened so the test can wait them out: 1.5 s ("minute"), 4 s ("hour")
    h = await startHarness({ worker: true, env: { WECOM_FREQUENCY_BACKOFF_MS: '1500,4000' } });
    // quiet hours off: these tests run on the real clock, at any hour
    await savePolicy(h.app.db, { ...DEFAULT_POLICY, quietHours: null }, 'test', new Date());
  });
  afterEach(() => h.close());

  const contactXml = (change: string, ext: string, createTime: number, extra: Record<string, string | number> = {}) =>
    wecomEventXml({ FromUserName: 'sys', CreateTime: createTime, MsgType: 'event', Event: 'change_external_contact', ChangeType: change, UserID: 'zhangsan', ExternalUserID: ext, ...extra });

  async function addContact(ext: string, remark = '王哥'): Promise<string> {
    h.fake.contacts.set(ext, {
      external_contact: { external_userid: ext, name: `微信${remark}`, type: 1 },
      follow_user: [{ userid: 'zhangsan', remark, createtime: nowSeconds() - 3600, tags: [] }],
    });
    expect((await h.sendCallback(contactXml('add_external_contact', ext, nowSeconds() - 60))).status).toBe(200);
    const p = await waitFor(async () => {
      const r = await h.request(`/api/identities/wecom/${ext}`);
      return r.status === 200 ? ((await r.json()) as { id: string; follows: unknown[] }) : null;
    }, 10_000, `profile of ${ext}`);
    return p.id;
  }

  /** What the campaign sweep does for a customer: route, then one delivery row, then enqueue. */
  async function campaignDelivery(customerId: string, key: string, text: string, staffNote?: string): Promise<string> {
    const route = await routeDelivery(h.app.db, { customerId, channels: ['wecom', 'sms', 'email'] });
    if (!('channel' in route)) throw new Error(`not routed: ${route.skip}`);
    const { id } = await inTransaction(h.app.db, (em) =>
      createDelivery(
        em,
        {
          customerId,
          channel: route.channel,
          provider: 'wecom',
          purpose: 'birthday',
          marketing: true,
          idempotencyKey: key,
          toAddress: route.toAddress,
          staffUserId: route.staffUserId,
          content: { text, ...(staffNote ? { staffNote } : {}) },
        },
        new Date(),
      ),
    );
    await h.app.enqueueSend(id);
    return id;
  }

  const delivery = (id: string) => h.getJson(`/api/deliveries/${id}`);
  const reaches = (id: string, pred: (d: any) => boolean, what: string, ms = 15_000) =>
    waitFor(async () => {
      const d = await delivery(id);
      return pred(d) ? d : null;
    }, ms, what);
  const calls = (path: string) => h.fake.calls.filter((c) => c.path === path);
  const poll = () => pollMassTaskResults(h.app.domain, new Date(), { maxAgeHours: 72 });

  it('routes through the owning staff member: a task for them to confirm, a card telling them why; polling marks it delivered', async () => {
    const customerId = await addContact(EXT);
    const id = await campaignDelivery(customerId, `birthday:${customerId}:2026`, '王哥，生日快乐！送您一张20元券 BDAY-7K3M9Q2X4P。', '今天是王哥的生日 · 已为他准备 20 元券');
    const sent = await reaches(id, (d) => d.status !== 'queued', 'the WeCom send');
    expect(sent).toMatchObject({ status: 'sent', channel: 'wecom', provider: 'wecom', errorCode: null });

    // the task: one customer, sent by zhangsan, the rendered text — created with the customer-contact secret
    const [task] = [...h.fake.tasks.values()];
    expect(task).toMatchObject({ sender: 'zhangsan', externalUserIds: [EXT], text: '王哥，生日快乐！送您一张20元券 BDAY-7K3M9Q2X4P。' });
    expect(sent.providerRef).toBe(task.msgid);
    // the card: to zhangsan, from our app (AgentId), naming the customer as zhangsan knows them and saying why
    expect(h.fake.appMessages).toHaveLength(1);
    const card = h.fake.appMessages[0];
    expect(card).toMatchObject({ touser: ['zhangsan'], msgtype: 'textcard', agentid: 1000002 });
    expect(card.textcard!.title).toContain('王哥');
    expect(card.textcard!.description).toContain('今天是王哥的生日 · 已为他准备 20 元券');
    expect(card.textcard!.description).toContain('群发助手');

    // zhangsan has not confirmed yet: polling leaves it sent
    expect(await poll()).toMatchObject({ asked: 1, pending: 1, delivered: 0 });
    expect((await delivery(id)).status).toBe('sent');
    h.fake.confirmTask(task.msgid);
    expect(await poll()).toMatchObject({ delivered: 1 });
    const done = await delivery(id);
    expect(done).toMatchObject({ status: 'delivered' });
    expect(new Date(done.deliveredAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // a second round asks nothing: nothing is still sent
    expect(await poll()).toMatchObject({ asked: 0 });
    // the same campaign key again is the same row: nothing new goes out
    expect(await campaignDelivery(customerId, `birthday:${customerId}:2026`, 'again')).toBe(id);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls('externalcontact/add_msg_template')).toHaveLength(1);
  });

  it('WeCom’s own refusals end the row failed with the reason: already got a mass message, no longer a contact, never confirmed', async () => {
    const a = await addContact(EXT, '王哥');
    const b = await addContact(EXT2, '李姐');
    const idA = await campaignDelivery(a, `birthday:${a}:2026`, '生日快乐');
    const idB = await campaignDelivery(b, `birthday:${b}:2026`, '生日快乐');
    await reaches(idA, (d) => d.status === 'sent', 'A sent');
    await reaches(idB, (d) => d.status === 'sent', 'B sent');
    const msgA = (await delivery(idA)).providerRef;
    const msgB = (await delivery(idB)).providerRef;
    h.fake.confirmTask(msgA, { [EXT]: 3 });
    h.fake.confirmTask(msgB, { [EXT2]: 2 });
    await poll();
    expect(await delivery(idA)).toMatchObject({ status: 'failed', errorCode: 'wecom_mass_daily' });
    expect(await delivery(idB)).toMatchObject({ status: 'failed', errorCode: 'not_contact' });

    // a task nobody confirms within the polling window ends failed, not sent forever
    const c = await addContact('wmOUT0000000000000000000000003', '赵总');
    const idC = await campaignDelivery(c, `birthday:${c}:2026`, '生日快乐');
    await reaches(idC, (d) => d.status === 'sent', 'C sent');
    await pollMassTaskResults(h.app.domain, new Date(Date.now() + 73 * 3600_000), { maxAgeHours: 72 });
    expect(await delivery(idC)).toMatchObject({ status: 'failed', errorCode: 'not_confirmed' });
  });

  it('a customer no longer reachable through the staff member is not sent a task: WeCom fail_list ends it failed, no retry', async () => {
    const customerId = await addContact(EXT);
    // WeCom no longer lists zhangsan for the customer (we have not heard about it yet)
    h.fake.contacts.get(EXT)!.follow_user = [];
    const id = await campaignDelivery(customerId, `birthday:${customerId}:2026`, '生日快乐');
    const d = await reaches(id, (x) => x.status !== 'queued', 'the send');
    expect(d).toMatchObject({ status: 'failed', errorCode: 'fail_list', attempts: 1 });
    expect(h.fake.appMessages).toHaveLength(0);
  });

  it('45009: the send waits out WeCom’s window and is retried after it; other sends wait too instead of hammering the API', async () => {
    const a = await addContact(EXT, '王哥');
    const b = await addContact(EXT2, '李姐');
    h.fake.failNext('externalcontact/add_msg_template', { errcode: 45009, errmsg: 'api freq out of limit' });
    const idA = await campaignDelivery(a, `birthday:${a}:2026`, '生日快乐');
    const limited = await reaches(idA, (d) => d.errorCode === '45009', 'the 45009');
    expect(limited).toMatchObject({ status: 'queued', attempts: 1 });
    // another customer's send during the window does not reach WeCom
    const idB = await campaignDelivery(b, `birthday:${b}:2026`, '生日快乐');
    await reaches(idB, (d) => d.errorCode === '45009', 'B held by the open window', 5000);
    expect(calls('externalcontact/add_msg_template')).toHaveLength(1);

    const sentA = await reaches(idA, (d) => d.status === 'sent', 'A after the window', 15_000);
    const sentB = await reaches(idB, (d) => d.status === 'sent', 'B after the window', 15_000);
    // one refused call, then exactly one per delivery — none before the 1.5 s window was over
    const made = calls('externalcontact/add_msg_template');
    expect(made).toHaveLength(3);
    expect(made[1].at - made[0].at).toBeGreaterThanOrEqual(1500);
    expect(made[2].at - made[0].at).toBeGreaterThanOrEqual(1500);
    expect(sentA).toMatchObject({ attempts: 2, errorCode: null });
    expect(sentB.errorCode).toBeNull();
  }, 30_000);

  it('del_follow_user: the removed staff member gets an app card naming the customer and their recent history, once per event', async () => {
    const customerId = await addContact(EXT);
    // some history: an order-like internal line and a message in
    await inTransaction(h.app.db, async (em) => {
      await em.query(
        `INSERT INTO timeline_entry (customer_id, channel, direction, kind, text, occurred_at, provider_id, created_at) VALUES (?, 'sms', 'in', 'message', '豆子还有吗？', ?, 'hist:1', ?)`,
        [customerId, new Date(Date.now() - 1800_000), new Date()],
      );
    });
    expect((await h.sendCallback(contactXml('del_follow_user', EXT, nowSeconds()))).status).toBe(200);
    const alert = await waitFor(async () => {
      const list = await h.getJson(`/api/deliveries?customerId=${customerId}`);
      const d = list.items.find((x: any) => x.purpose === 'staff_alert');
      return d && d.status !== 'queued' ? d : null;
    }, 10_000, 'the staff alert');
    expect(alert).toMatchObject({ channel: 'wecom', provider: 'wecom_app', to: 'zhangsan', status: 'sent', marketing: false });
    expect(h.fake.appMessages).toHaveLength(1);
    const card = h.fake.appMessages[0];
    expect(card.touser).toEqual(['zhangsan']);
    expect(card.textcard!.title).toBe('王哥 删除了你');
    expect(card.textcard!.description).toContain('客户：豆子还有吗？');
    expect(card.textcard!.description).toContain('added the customer');
    expect(card.textcard!.description).not.toContain('removed');

    // the same event processed again (a retry after a crash) alerts nobody twice
    const [ev] = await h.app.db.query(`SELECT id FROM inbound_event WHERE type = 'event/change_external_contact/del_follow_user'`);
    const [row] = await h.app.db.query(`SELECT idempotency_key FROM delivery WHERE id = ?`, [alert.id]);
    expect(row.idempotency_key).toBe(`staff-alert:${ev.id}`);
    await h.app.db.query(`UPDATE inbound_event SET status = 'received' WHERE id = ?`, [ev.id]);
    await h.app.enqueueInbound(String(ev.id));
    await waitFor(async () => (await h.app.db.query(`SELECT status FROM inbound_event WHERE id = ?`, [ev.id]))[0].status === 'processed', 10_000, 'reprocessed');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.appMessages).toHaveLength(1);
    expect(Number((await h.app.db.query(`SELECT COUNT(*) AS n FROM delivery WHERE purpose = 'staff_alert'`))[0].n)).toBe(1);
    // the alert went to staff, not to the customer: it is not a message on their timeline
    const timeline = await h.getJson(`/api/customers/${customerId}/timeline`);
    expect(timeline.items.filter((i: any) => i.direction === 'out')).toEqual([]);
  });
});
