// WeCom events end to end: encrypted callback → durable inbox → worker → domain, with the WeCom API
// played by the local fake. Contact edits and removals, out-of-order events, corp tag changes,
// WeChat customer service (kf) pulls, app messages, unknown events, retries and failures.
import type { KfMessage } from '../../channels/wecom/api';
import { startHarness, waitFor, wecomEventXml, nowSeconds, type Harness } from '../support/harness';

const EXT = 'wmEXT000000000000000000000001';
const KF = 'wkKF0000000000001';
const KF_CUSTOMER = 'wmKFCUSTOMER0000000000000001';

const contactEvent = (change: string, createTime: number, extra: Record<string, string | number> = {}) =>
  wecomEventXml({
    FromUserName: 'sys',
    CreateTime: createTime,
    MsgType: 'event',
    Event: 'change_external_contact',
    ChangeType: change,
    UserID: 'zhangsan',
    ExternalUserID: EXT,
    ...extra,
  });

const tagEvent = (change: string, id: string, tagType: 'tag' | 'tag_group' = 'tag', createTime = nowSeconds()) =>
  wecomEventXml({ FromUserName: 'sys', CreateTime: createTime, MsgType: 'event', Event: 'change_external_tag', ChangeType: change, Id: id, TagType: tagType });

const kfEvent = (token: string, createTime = nowSeconds()) =>
  wecomEventXml({ CreateTime: createTime, MsgType: 'event', Event: 'kf_msg_or_event', Token: token, OpenKfId: KF });

function seedContact(h: Harness, follow: { remark?: string; tags: [string, string, string][] }[] = [{ remark: '王哥', tags: [['etTAG001', 'VIP', '客户等级'], ['etTAG002', '咖啡豆', '兴趣']] }]) {
  const staff = ['zhangsan', 'lisi'];
  h.fake.contacts.set(EXT, {
    external_contact: { external_userid: EXT, name: '王哥☕', type: 1 },
    follow_user: follow.map((f, i) => ({
      userid: staff[i],
      remark: f.remark,
      createtime: 1764000000,
      tags: f.tags.map(([tag_id, tag_name, group_name]) => ({ tag_id, tag_name, group_name, type: 1 })),
    })),
  });
}

describe('WeCom events through the callback and the worker', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ worker: true });
  });
  afterEach(() => h.close());

  /** Sends the callback and waits until the worker has finished with it; returns the event. */
  async function deliver(xml: string, until: 'processed' | 'failed' = 'processed', timeoutMs = 10_000): Promise<any> {
    const before = new Set(((await h.getJson('/api/events?limit=200')).items as any[]).map((e) => e.id));
    const res = await h.sendCallback(xml);
    expect(res.status).toBe(200);
    const ev = await waitFor(async () => ((await h.getJson('/api/events?limit=200')).items as any[]).find((e) => !before.has(e.id)), 5000, 'the stored event');
    return waitFor(
      async () => {
        const now = ((await h.getJson('/api/events?limit=200')).items as any[]).find((e) => e.id === ev.id);
        return now.status === until ? now : null;
      },
      timeoutMs,
      `event ${ev.type} to be ${until}`,
    );
  }
  const profile = () => h.getJson(`/api/identities/wecom/${EXT}`);
  const tagNames = async () => ((await profile()).tags as any[]).map((t) => t.name).sort();

  describe('change_external_contact', () => {
    it('edit_external_contact updates the remark and replaces that staff member’s tags', async () => {
      seedContact(h, [
        { remark: '王哥', tags: [['etTAG001', 'VIP', '客户等级'], ['etTAG002', '咖啡豆', '兴趣']] },
        { remark: '老王', tags: [['etTAG003', '茶叶', '兴趣']] },
      ]);
      const t0 = nowSeconds() - 60;
      await deliver(contactEvent('add_external_contact', t0));
      expect(await tagNames()).toEqual(['VIP', '咖啡豆', '茶叶']);

      // zhangsan drops 咖啡豆 and adds 新客; lisi keeps 茶叶
      seedContact(h, [
        { remark: '王哥 月结', tags: [['etTAG001', 'VIP', '客户等级'], ['etTAG004', '新客', '客户等级']] },
        { remark: '老王', tags: [['etTAG003', '茶叶', '兴趣']] },
      ]);
      await deliver(contactEvent('edit_external_contact', t0 + 10));
      const p = await profile();
      expect(p.tags.map((t: any) => t.name).sort()).toEqual(['VIP', '新客', '茶叶']);
      expect(p.follows).toEqual([
        expect.objectContaining({ staffUserId: 'zhangsan', remark: '王哥 月结', state: 'active' }),
        expect.objectContaining({ staffUserId: 'lisi', remark: '老王', state: 'active' }),
      ]);
      const timeline = await h.getJson(`/api/customers/${p.id}/timeline`);
      expect(timeline.items.map((i: any) => i.kind)).toEqual(['contact_edited', 'contact_added']);

      // every tag gone for lisi too
      seedContact(h, [
        { remark: '王哥 月结', tags: [['etTAG001', 'VIP', '客户等级']] },
        { remark: '老王', tags: [] },
      ]);
      await deliver(contactEvent('edit_external_contact', t0 + 20, { UserID: 'lisi' }));
      expect(await tagNames()).toEqual(['VIP']);
    });

    it('del_external_contact ends the follow as ended by staff and marks churn risk', async () => {
      seedContact(h);
      const t0 = nowSeconds() - 60;
      await deliver(contactEvent('add_external_contact', t0));
      expect((await profile()).churnRisk).toBe(false);
      h.fake.contacts.delete(EXT); // WeCom no longer knows the relation
      await deliver(contactEvent('del_external_contact', t0 + 30));
      const p = await profile();
      expect(p.churnRisk).toBe(true);
      expect(p.follows).toEqual([
        expect.objectContaining({ staffUserId: 'zhangsan', state: 'ended', endedBy: 'staff', endedAt: new Date((t0 + 30) * 1000).toISOString() }),
      ]);
      const timeline = await h.getJson(`/api/customers/${p.id}/timeline`);
      expect(timeline.items[0]).toMatchObject({ kind: 'contact_removed_by_staff', staff: 'zhangsan', direction: 'internal' });
    });

    it('a relation ended by transfer to another member is not churn', async () => {
      seedContact(h);
      const t0 = nowSeconds() - 60;
      await deliver(contactEvent('add_external_contact', t0));
      await deliver(contactEvent('del_external_contact', t0 + 30, { Source: 'DELETE_BY_TRANSFER' }));
      const p = await profile();
      expect(p.follows[0]).toMatchObject({ state: 'ended', endedBy: 'staff' });
      expect(p.churnRisk).toBe(false);
    });

    it('a late add_external_contact does not reactivate a follow ended after it', async () => {
      seedContact(h);
      const t0 = nowSeconds() - 120;
      await deliver(contactEvent('add_external_contact', t0));
      await deliver(contactEvent('del_follow_user', t0 + 60));
      // WeCom redelivers (or delivers late) an add from before the removal; the one-way relation
      // still shows zhangsan in externalcontact/get
      await deliver(contactEvent('add_external_contact', t0 + 30, { State: 'late' }));
      const p = await profile();
      expect(p.follows).toEqual([
        expect.objectContaining({ staffUserId: 'zhangsan', state: 'ended', endedBy: 'customer', endedAt: new Date((t0 + 60) * 1000).toISOString() }),
      ]);
      expect(p.churnRisk).toBe(true);

      // a real re-add after the removal does reactivate it
      await deliver(contactEvent('add_external_contact', t0 + 90));
      const again = await profile();
      expect(again.follows[0]).toMatchObject({ state: 'active', endedAt: null, endedBy: null });
      expect(again.churnRisk).toBe(false);
    });

    it('an add by another member does not revive the follow the customer ended', async () => {
      seedContact(h, [
        { remark: '王哥', tags: [] },
        { remark: '老王', tags: [] },
      ]);
      const t0 = nowSeconds() - 120;
      await deliver(contactEvent('add_external_contact', t0));
      await deliver(contactEvent('del_follow_user', t0 + 30));
      // later lisi adds the customer; WeCom still lists zhangsan's one-way relation
      await deliver(contactEvent('add_external_contact', t0 + 60, { UserID: 'lisi' }));
      const p = await profile();
      const byStaff = Object.fromEntries(p.follows.map((f: any) => [f.staffUserId, f]));
      expect(byStaff.zhangsan).toMatchObject({ state: 'ended', endedBy: 'customer' });
      expect(byStaff.lisi).toMatchObject({ state: 'active' });
      // and an edit by zhangsan of the one-way relation does not revive it either
      await deliver(contactEvent('edit_external_contact', t0 + 90));
      const after = await profile();
      expect(after.follows.find((f: any) => f.staffUserId === 'zhangsan')).toMatchObject({ state: 'ended', endedBy: 'customer' });
    });
  });

  describe('change_external_tag', () => {
    beforeEach(() => {
      seedContact(h);
      h.fake.tagGroups = [
        { group_id: 'etGROUP1', group_name: '客户等级', tag: [{ id: 'etTAG001', name: 'VIP' }] },
        { group_id: 'etGROUP2', group_name: '兴趣', tag: [{ id: 'etTAG002', name: '咖啡豆' }] },
      ];
    });

    it('create and update mirror the tag; a rename shows on profiles and in tag search', async () => {
      await deliver(contactEvent('add_external_contact', nowSeconds() - 60));
      h.fake.tagGroups[0].tag.push({ id: 'etTAG009', name: '黑卡' });
      await deliver(tagEvent('create', 'etTAG009'));
      const [created] = await h.app.db.query(`SELECT name, group_name, wecom_group_id, deleted FROM tag WHERE wecom_id = 'etTAG009'`);
      expect(created).toMatchObject({ name: '黑卡', group_name: '客户等级', wecom_group_id: 'etGROUP1' });
      expect(Number(created.deleted)).toBe(0);

      h.fake.tagGroups[0].tag[0].name = 'SVIP';
      await deliver(tagEvent('update', 'etTAG001'));
      expect(await tagNames()).toEqual(['SVIP', '咖啡豆']);
      const p = await profile();
      expect((await h.getJson('/api/customers?tag=SVIP')).items.map((c: any) => c.id)).toEqual([p.id]);
      expect((await h.getJson('/api/customers?tag=VIP')).items).toEqual([]);

      // renaming a group renames it on every tag in it
      h.fake.tagGroups[1].group_name = '爱好';
      await deliver(tagEvent('update', 'etGROUP2', 'tag_group'));
      expect((await profile()).tags).toEqual(expect.arrayContaining([{ name: '咖啡豆', group: '爱好', source: 'wecom' }]));
    });

    it('delete marks the tag deleted so it leaves profiles and search', async () => {
      await deliver(contactEvent('add_external_contact', nowSeconds() - 60));
      expect(await tagNames()).toEqual(['VIP', '咖啡豆']);
      h.fake.tagGroups[0].tag = [];
      await deliver(tagEvent('delete', 'etTAG001'));
      expect(await tagNames()).toEqual(['咖啡豆']);
      expect((await h.getJson('/api/customers?tag=VIP')).items).toEqual([]);
    });

    it('deleting a tag group removes its tags, even ones only ever seen on a contact', async () => {
      await deliver(contactEvent('add_external_contact', nowSeconds() - 60));
      h.fake.tagGroups = h.fake.tagGroups.filter((g) => g.group_id !== 'etGROUP2');
      await deliver(tagEvent('delete', 'etGROUP2', 'tag_group'));
      expect(await tagNames()).toEqual(['VIP']);
    });

    it('a shuffle changes nothing and is processed', async () => {
      await deliver(contactEvent('add_external_contact', nowSeconds() - 60));
      await deliver(wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds(), MsgType: 'event', Event: 'change_external_tag', ChangeType: 'shuffle', Id: '' }));
      expect(await tagNames()).toEqual(['VIP', '咖啡豆']);
    });
  });

  describe('kf_msg_or_event (WeChat customer service)', () => {
    const kfMsg = (n: number, m: Partial<KfMessage>): KfMessage => ({
      msgid: `kfmsg-${n}`,
      open_kfid: KF,
      external_userid: KF_CUSTOMER,
      send_time: 1764000000 + n * 60,
      origin: 3,
      msgtype: 'text',
      text: { content: `message ${n}` },
      ...m,
    });

    it('pulls every page with sync_msg, keeps the cursor in MySQL and stores each message once', async () => {
      h.fake.kfPageSize = 2;
      h.fake.kfMessages.set(KF, [
        kfMsg(1, { text: { content: '你好，豆子还有吗？' } }),
        kfMsg(2, { origin: 5, servicer_userid: 'zhangsan', text: { content: '有的，耶加雪菲' } }),
        kfMsg(3, { msgtype: 'image', image: { media_id: 'MEDIA1' }, text: undefined }),
        kfMsg(4, { origin: 4, external_userid: undefined, msgtype: 'event', event: { event_type: 'enter_session', external_userid: KF_CUSTOMER, scene: 'qr' }, text: undefined }),
        kfMsg(5, { origin: 4, external_userid: undefined, msgtype: 'event', event: { event_type: 'servicer_status_change', servicer_userid: 'zhangsan' }, text: undefined }),
      ]);
      await deliver(kfEvent('KFTOKEN-1'));

      const syncs = () => h.fake.calls.filter((c) => c.path === 'kf/sync_msg').map((c) => c.body as Record<string, unknown>);
      expect(syncs()).toEqual([
        expect.objectContaining({ open_kfid: KF, token: 'KFTOKEN-1' }),
        expect.objectContaining({ open_kfid: KF, token: 'KFTOKEN-1', cursor: 'c2' }),
        expect.objectContaining({ open_kfid: KF, token: 'KFTOKEN-1', cursor: 'c4' }),
      ]);
      expect(syncs()[0].cursor).toBeUndefined();
      const [cur] = await h.app.db.query('SELECT next_cursor FROM wecom_kf_cursor WHERE open_kfid = ?', [KF]);
      expect(cur.next_cursor).toBe('c5');

      const customer = await h.getJson(`/api/identities/wecom/${KF_CUSTOMER}`);
      const timeline = await h.getJson(`/api/customers/${customer.id}/timeline`);
      expect(timeline.items.map((i: any) => [i.channel, i.direction, i.kind, i.text])).toEqual([
        ['wecom_kf', 'internal', 'kf_enter_session', '[event] enter_session'],
        ['wecom_kf', 'in', 'image', '[image]'],
        ['wecom_kf', 'out', 'text', '有的，耶加雪菲'],
        ['wecom_kf', 'in', 'text', '你好，豆子还有吗？'],
      ]);
      expect(timeline.items[2]).toMatchObject({ staff: 'zhangsan', occurredAt: new Date((1764000000 + 120) * 1000).toISOString() });
      expect(customer.stats.lastInteractionAt).toBe(new Date((1764000000 + 180) * 1000).toISOString());

      // the next event fetches only what is new, from the saved cursor, with its own token;
      // a message WeCom hands out again (same msgid) stays one entry
      h.fake.kfMessages.get(KF)!.push(kfMsg(6, { text: { content: '好的，下单' } }), kfMsg(1, { text: { content: '你好，豆子还有吗？' } }));
      const before = syncs().length;
      await deliver(kfEvent('KFTOKEN-2'));
      const next = syncs().slice(before);
      expect(next).toEqual([expect.objectContaining({ open_kfid: KF, token: 'KFTOKEN-2', cursor: 'c5' })]);
      const after = await h.getJson(`/api/customers/${customer.id}/timeline`);
      expect(after.items.map((i: any) => i.text)).toEqual(['好的，下单', '[event] enter_session', '[image]', '有的，耶加雪菲', '你好，豆子还有吗？']);
      const [cur2] = await h.app.db.query('SELECT next_cursor FROM wecom_kf_cursor WHERE open_kfid = ?', [KF]);
      expect(cur2.next_cursor).toBe('c7');
      const [{ n }] = await h.app.db.query(`SELECT COUNT(*) AS n FROM timeline_entry WHERE channel = 'wecom_kf' AND provider_id = 'kfmsg-1'`);
      expect(Number(n)).toBe(1);
    });
  });

  describe('messages and unknown events', () => {
    it('a plain text app message is stored under its 64-bit MsgId and marked processed', async () => {
      const xml =
        '<xml><ToUserName><![CDATA[wwcorp0001]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>' +
        `<CreateTime>${nowSeconds()}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello 你好]]></Content>` +
        '<MsgId>4561255354251345929</MsgId><AgentID>1000002</AgentID></xml>';
      const ev = await deliver(xml);
      expect(ev).toMatchObject({ channel: 'wecom', type: 'text', status: 'processed', dedupKey: 'wecom:msg:4561255354251345929', lastError: null });
      expect(ev.payload).toMatchObject({ MsgId: '4561255354251345929', Content: 'hello 你好', FromUserName: 'zhangsan' });
      expect(ev.processedAt).not.toBeNull();
    });

    it('an event type we do not handle is kept and marked processed', async () => {
      const ev = await deliver(wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds(), MsgType: 'event', Event: 'some_future_event', ChangeType: 'whatever' }));
      expect(ev).toMatchObject({ type: 'event/some_future_event/whatever', status: 'processed', attempts: 1 });
    });
  });

  describe('failures and retries', () => {
    it('a WeCom API failure is retried and the event ends processed', async () => {
      seedContact(h);
      h.fake.failNext('externalcontact/get', { errcode: -1, errmsg: 'system busy' }, 2);
      const ev = await deliver(contactEvent('add_external_contact', nowSeconds() - 5), 'processed', 20_000);
      expect(ev.attempts).toBe(3);
      expect(ev.lastError).toBeNull();
      expect((await profile()).name).toBe('王哥☕');
    });

    it('a permanent WeCom error fails the event at once; /api/events/:id/retry runs it again', async () => {
      seedContact(h);
      h.fake.failNext('externalcontact/get', { errcode: 40096, errmsg: 'invalid external userid' }, 1);
      const ev = await deliver(contactEvent('add_external_contact', nowSeconds() - 5), 'failed');
      expect(ev.attempts).toBe(1);
      expect(ev.lastError).toMatch(/40096/);
      expect((await h.getJson('/api/events?status=failed')).items.map((e: any) => e.id)).toEqual([ev.id]);

      // the fake answers normally again (its failure is used up): an operator retries
      const res = await h.request(`/api/events/${ev.id}/retry`, { method: 'POST' });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ id: ev.id, status: 'received' });
      const done = await waitFor(async () => {
        const e = (await h.getJson('/api/events')).items.find((x: any) => x.id === ev.id);
        return e.status === 'processed' ? e : null;
      }, 10_000, 'retried event processed');
      expect(done).toMatchObject({ attempts: 2, lastError: null });
      expect((await profile()).name).toBe('王哥☕');

      // only failed events can be retried
      expect((await h.request(`/api/events/${ev.id}/retry`, { method: 'POST' })).status).toBe(409);
      expect((await h.request(`/api/events/99999999/retry`, { method: 'POST' })).status).toBe(404);
    });

    it('an event missing ExternalUserID fails at once with the reason', async () => {
      const ev = await deliver(
        wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds(), MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan' }),
        'failed',
      );
      expect(ev.attempts).toBe(1);
      expect(ev.lastError).toMatch(/ExternalUserID/);
      // a retry without a fix fails the same way, and can be retried again
      expect((await h.request(`/api/events/${ev.id}/retry`, { method: 'POST' })).status).toBe(202);
      await waitFor(async () => {
        const e = (await h.getJson('/api/events')).items.find((x: any) => x.id === ev.id);
        return e.status === 'failed' && e.attempts === 2;
      }, 10_000, 'failed again');
    });
  });
});
