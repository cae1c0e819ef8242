// End to end: encrypted change_external_contact callbacks → durable inbox → worker → profile, tags, follows, timeline.
import { startHarness, waitFor, wecomEventXml, nowSeconds, type Harness } from '../support/harness';

const EXT = 'wmEXT000000000000000000000001';

function seedContact(h: Harness) {
  h.fake.contacts.set(EXT, {
    external_contact: { external_userid: EXT, name: '王哥☕', type: 1, gender: 1, unionid: 'oUNION0001', avatar: 'https://example.test/a.png' },
    follow_user: [
      {
        userid: 'zhangsan',
        remark: '王哥 咖啡豆',
        description: 'buys beans monthly',
        createtime: 1764000000,
        add_way: 1,
        state: 'store-qr',
        remark_mobiles: ['138 0013 8000'],
        tags: [
          { group_name: '客户等级', tag_name: 'VIP', tag_id: 'etTAG001', type: 1 },
          { group_name: '兴趣', tag_name: '咖啡豆', tag_id: 'etTAG002', type: 1 },
        ],
      },
    ],
  });
}

const addEvent = (createTime = nowSeconds(), change = 'add_external_contact') =>
  wecomEventXml({
    FromUserName: 'sys',
    CreateTime: createTime,
    MsgType: 'event',
    Event: 'change_external_contact',
    ChangeType: change,
    UserID: 'zhangsan',
    ExternalUserID: EXT,
    State: 'store-qr',
    WelcomeCode: 'WELCOMECODE',
  });

describe('change_external_contact', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ worker: true });
    seedContact(h);
  });
  afterEach(() => h.close());

  it('add_external_contact makes a profile with the name and tags WeCom returned, and a timeline entry', async () => {
    const res = await h.sendCallback(addEvent());
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');

    const profile = await waitFor(async () => {
      const r = await h.request(`/api/identities/wecom/${EXT}`);
      return r.status === 200 ? ((await r.json()) as any) : null;
    }, 10_000, 'profile');
    expect(profile.name).toBe('王哥☕');
    expect(profile.phone).toBe('+8613800138000');
    expect(profile.tags).toEqual(
      expect.arrayContaining([
        { name: 'VIP', group: '客户等级', source: 'wecom' },
        { name: '咖啡豆', group: '兴趣', source: 'wecom' },
      ]),
    );
    expect(profile.identities).toEqual(
      expect.arrayContaining([
        { channel: 'wecom', externalId: EXT },
        { channel: 'wechat_unionid', externalId: 'oUNION0001' },
        { channel: 'phone', externalId: '+8613800138000' },
      ]),
    );
    expect(profile.follows).toEqual([
      expect.objectContaining({ staffUserId: 'zhangsan', remark: '王哥 咖啡豆', state: 'active', endedAt: null, endedBy: null }),
    ]);
    expect(profile.churnRisk).toBe(false);

    const byPhone = await h.getJson('/api/identities/phone/13800138000');
    expect(byPhone.id).toBe(profile.id);

    const timeline = await h.getJson(`/api/customers/${profile.id}/timeline`);
    expect(timeline.items).toHaveLength(1);
    expect(timeline.items[0]).toMatchObject({ channel: 'wecom', kind: 'contact_added', staff: 'zhangsan' });
  });

  it('the same callback sent three times gives one event and one timeline entry', async () => {
    const xml = addEvent(nowSeconds() - 5);
    for (let i = 0; i < 3; i++) expect((await h.sendCallback(xml)).status).toBe(200);
    const events = await h.getJson('/api/events?channel=wecom');
    expect(events.items).toHaveLength(1);
    await waitFor(async () => (await h.getJson(`/api/events`)).items[0].status === 'processed', 10_000, 'processed');
    // and once more after processing
    expect((await h.sendCallback(xml)).status).toBe(200);
    const profile = await h.getJson(`/api/identities/wecom/${EXT}`);
    const timeline = await h.getJson(`/api/customers/${profile.id}/timeline`);
    expect(timeline.items).toHaveLength(1);
    expect((await h.getJson('/api/events')).items).toHaveLength(1);
  });

  it('del_follow_user ends the relation as ended by the customer and marks churn risk', async () => {
    const t0 = nowSeconds() - 60;
    await h.sendCallback(addEvent(t0));
    await waitFor(async () => (await h.request(`/api/identities/wecom/${EXT}`)).status === 200, 10_000, 'profile');
    await h.sendCallback(
      wecomEventXml({ FromUserName: 'sys', CreateTime: t0 + 30, MsgType: 'event', Event: 'change_external_contact', ChangeType: 'del_follow_user', UserID: 'zhangsan', ExternalUserID: EXT }),
    );
    const profile = await waitFor(async () => {
      const p = await h.getJson(`/api/identities/wecom/${EXT}`);
      return p.churnRisk ? p : null;
    }, 10_000, 'churn risk');
    expect(profile.follows[0]).toMatchObject({ state: 'ended', endedBy: 'customer', endedAt: new Date((t0 + 30) * 1000).toISOString() });
    const timeline = await h.getJson(`/api/customers/${profile.id}/timeline`);
    expect(timeline.items.map((i: any) => i.kind)).toEqual(['contact_removed_by_customer', 'contact_added']);
  });
});
