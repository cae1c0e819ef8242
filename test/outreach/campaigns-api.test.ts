// GET/PUT /api/campaigns/:kind over HTTP: defaults until the first PUT, the stored shape round-trips
// exactly, every invalid body is a 400 naming its field, unknown kinds 404; saving reschedules the
// daily sweep (a Bull repeatable job at sendAt in STORE_TIMEZONE).
import { DEFAULT_CAMPAIGNS } from '../../src/outreach/campaigns';
import { startHarness, type Harness } from '../support/harness';

const birthday = {
  enabled: true,
  channels: ['wecom', 'sms', 'email'],
  templates: {
    wecom: { text: '{{name}}，生日快乐！送您{{coupon.value}}元券 {{coupon.code}}' },
    sms: { templateId: '1110001', signName: '咖啡小店', params: ['{{name}}', '{{coupon.value}}', '{{coupon.code}}', '{{coupon.expiresAt}}'] },
    email: { subject: '{{name}}，生日快乐', text: '券码 {{coupon.code}}', html: '<p>{{name}}，券码 <b>{{coupon.code}}</b></p>' },
  },
  coupon: { value: 20, validDays: 14, prefix: 'BDAY-' },
  sendAt: '09:30',
  params: {},
};

describe('campaigns API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const put = (kind: string, body: unknown, contentType = 'application/json') =>
    h.request(`/api/campaigns/${kind}`, { method: 'PUT', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('answers the disabled defaults until a campaign is saved', async () => {
    for (const kind of ['welcome', 'birthday', 'reorder', 'winback'] as const) {
      expect(await h.getJson(`/api/campaigns/${kind}`)).toEqual(DEFAULT_CAMPAIGNS[kind]);
      expect(DEFAULT_CAMPAIGNS[kind].enabled).toBe(false);
    }
    expect((await h.getJson('/api/campaigns/reorder')).params).toEqual({ graceDays: 3 });
    expect((await h.getJson('/api/campaigns/winback')).params).toEqual({ dormantDays: 90 });
  });

  it('stores exactly the shape it is given and reschedules the sweep at sendAt, store time', async () => {
    const res = await put('birthday', birthday);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(birthday);
    expect(await h.getJson('/api/campaigns/birthday')).toEqual(birthday);
    const [row] = await h.app.db.query(`SELECT updated_by FROM campaign WHERE kind = 'birthday'`);
    expect(row.updated_by).toBe('admin');

    let jobs = await h.app.queues.campaigns.getRepeatableJobs();
    expect(jobs.map((j) => ({ id: j.id, cron: j.cron, tz: j.tz }))).toEqual([{ id: 'campaign-sweep-birthday', cron: '30 9 * * *', tz: 'Asia/Shanghai' }]);

    // a new time moves it; disabling removes it
    expect((await put('birthday', { ...birthday, sendAt: '10:05' })).status).toBe(200);
    jobs = await h.app.queues.campaigns.getRepeatableJobs();
    expect(jobs.map((j) => j.cron)).toEqual(['5 10 * * *']);
    expect((await put('birthday', { ...birthday, enabled: false })).status).toBe(200);
    expect(await h.app.queues.campaigns.getRepeatableJobs()).toEqual([]);
    expect((await h.getJson('/api/campaigns/birthday')).enabled).toBe(false);
  });

  it('takes a campaign without a coupon and a reorder grace', async () => {
    const reorder = {
      enabled: true,
      channels: ['email'],
      templates: { email: { subject: 'Time for {{lastProduct}}?', text: 'Hi {{name}}, your {{lastProduct}} from {{store}} may be running low.' } },
      coupon: null,
      sendAt: '11:00',
      params: { graceDays: 5 },
    };
    const res = await put('reorder', reorder);
    expect(res.status).toBe(200);
    expect(await h.getJson('/api/campaigns/reorder')).toEqual(reorder);
  });

  const bad: [string, (b: any) => unknown, RegExp][] = [
    ['enabled missing', ({ enabled, ...b }) => b, /^enabled: /],
    ['enabled not a boolean', (b) => ({ ...b, enabled: 'yes' }), /^enabled: /],
    ['unknown channel', (b) => ({ ...b, channels: ['wecom', 'fax'] }), /^channels\.1: /],
    ['no channel', (b) => ({ ...b, channels: [] }), /^channels: list at least one channel/],
    ['repeated channel', (b) => ({ ...b, channels: ['sms', 'sms'] }), /^channels: must not repeat a channel/],
    ['channel without its template', (b) => ({ ...b, templates: { wecom: b.templates.wecom } }), /^templates\.sms: is required: channels lists sms/],
    ['unknown template variable', (b) => ({ ...b, templates: { ...b.templates, wecom: { text: 'Hi {{nickname}}' } } }), /^templates\.wecom\.text: unknown variable \{\{nickname\}\}/],
    ['a helper', (b) => ({ ...b, templates: { ...b.templates, wecom: { text: '{{#if name}}Hi{{/if}}' } } }), /^templates\.wecom\.text: only plain variables/],
    ['unknown SMS param variable', (b) => ({ ...b, templates: { ...b.templates, sms: { ...b.templates.sms, params: ['{{name}}', '{{code}}'] } } }), /^templates\.sms\.params\.1: unknown variable/],
    ['raw html variable', (b) => ({ ...b, templates: { ...b.templates, email: { ...b.templates.email, html: '<p>{{{name}}}</p>' } } }), /^templates\.email\.html: /],
    ['empty wecom text', (b) => ({ ...b, templates: { ...b.templates, wecom: { text: '  ' } } }), /^templates\.wecom\.text: must not be empty/],
    ['email without subject', (b) => ({ ...b, templates: { ...b.templates, email: { text: 'x' } } }), /^templates\.email\.subject: /],
    ['SMS without template id', (b) => ({ ...b, templates: { ...b.templates, sms: { signName: 'x', params: [] } } }), /^templates\.sms\.templateId: /],
    ['unknown template channel', (b) => ({ ...b, templates: { ...b.templates, fax: { text: 'x' } } }), /^templates: /],
    ['coupon variable without a coupon', (b) => ({ ...b, coupon: null }), /^templates\.wecom\.text: uses \{\{coupon\.\w+\}\} but the campaign has no coupon/],
    ['coupon value zero', (b) => ({ ...b, coupon: { ...b.coupon, value: 0 } }), /^coupon\.value: must be more than 0/],
    ['coupon value with three decimals', (b) => ({ ...b, coupon: { ...b.coupon, value: 1.005 } }), /^coupon\.value: at most two decimals/],
    ['coupon validDays fractional', (b) => ({ ...b, coupon: { ...b.coupon, validDays: 1.5 } }), /^coupon\.validDays: /],
    ['coupon prefix lower-case', (b) => ({ ...b, coupon: { ...b.coupon, prefix: 'bday' } }), /^coupon\.prefix: /],
    ['coupon minSpend zero', (b) => ({ ...b, coupon: { ...b.coupon, minSpend: 0 } }), /^coupon\.minSpend: /],
    ['coupon minSpend three decimals', (b) => ({ ...b, coupon: { ...b.coupon, minSpend: 99.999 } }), /^coupon\.minSpend: /],
    ['coupon missing', ({ coupon, ...b }) => b, /^coupon: /],
    ['sendAt 24:00', (b) => ({ ...b, sendAt: '24:00' }), /^sendAt: must be 'HH:mm'/],
    ['sendAt 9:30', (b) => ({ ...b, sendAt: '9:30' }), /^sendAt: /],
    ['negative grace', (b) => ({ ...b, params: { graceDays: -1 } }), /^params\.graceDays: must be at least 0/],
    ['dormantDays as a string', (b) => ({ ...b, params: { dormantDays: '90' } }), /^params\.dormantDays: /],
    ['unknown param', (b) => ({ ...b, params: { days: 3 } }), /^params: /],
    ['an extra top-level field', (b) => ({ ...b, name: 'x' }), /^\(root\)|^body: |^: /],
  ];
  it.each(bad)('400 naming the field: %s', async (_what, make, message) => {
    const res = await put('birthday', make(structuredClone(birthday)));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(message);
  });

  it('refuses bodies that are not a JSON object, unknown kinds and a missing token', async () => {
    expect((await put('birthday', '{nope')).status).toBe(400);
    expect((await put('birthday', '[]')).status).toBe(400);
    expect((await put('birthday', 'x', 'text/plain')).status).toBe(415);
    expect((await put('anniversary', birthday)).status).toBe(404);
    expect((await h.request('/api/campaigns/anniversary')).status).toBe(404);
    expect((await h.request('/api/campaigns/birthday', { auth: false })).status).toBe(401);
    // nothing of the refused bodies was stored
    expect(await h.getJson('/api/campaigns/birthday')).toEqual({ ...birthday, enabled: false });
  });
});
