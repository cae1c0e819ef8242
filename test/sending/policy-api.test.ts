// GET/PUT /api/policy over HTTP (validation names the field), and bull-board behind the admin token.
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness';

describe('GET/PUT /api/policy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const put = (body: unknown, headers: Record<string, string> = {}) =>
    h.request('/api/policy', { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const valid = { quietHours: { start: '22:00', end: '08:30' }, caps: { perDay: 2, per30Days: 6 }, conversationPauseHours: 1.5 };

  it('shows the defaults (21:00–09:00, 1 a day, 4 in 30 days, 2 h pause), stores a new policy and shows it', async () => {
    expect(await h.getJson('/api/policy')).toEqual({ quietHours: { start: '21:00', end: '09:00' }, caps: { perDay: 1, per30Days: 4 }, conversationPauseHours: 2 });
    const res = await put(valid, { 'x-actor': 'lin' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(valid);
    expect(await h.getJson('/api/policy')).toEqual(valid);
    const [row] = await h.app.db.query(`SELECT updated_by FROM contact_policy WHERE id = 1`);
    expect(row.updated_by).toBe('lin');
    // null quiet hours = none
    expect(await (await put({ ...valid, quietHours: null })).json()).toEqual({ ...valid, quietHours: null });
    expect((await h.getJson('/api/policy')).quietHours).toBeNull();
  });

  it.each([
    ['a bad time', { ...valid, quietHours: { start: '25:00', end: '09:00' } }, 'quietHours.start'],
    ['a time without minutes', { ...valid, quietHours: { start: '21:00', end: '9' } }, 'quietHours.end'],
    ['start equal to end', { ...valid, quietHours: { start: '09:00', end: '09:00' } }, 'quietHours.end'],
    ['quiet hours as a string', { ...valid, quietHours: '21:00-09:00' }, 'quietHours'],
    ['a negative cap', { ...valid, caps: { perDay: -1, per30Days: 4 } }, 'caps.perDay'],
    ['a fractional cap', { ...valid, caps: { perDay: 1.5, per30Days: 4 } }, 'caps.perDay'],
    ['a 30-day cap below the daily one', { ...valid, caps: { perDay: 3, per30Days: 2 } }, 'caps.per30Days'],
    ['caps missing', { quietHours: null, conversationPauseHours: 2 }, 'caps'],
    ['a pause as text', { ...valid, conversationPauseHours: 'two' }, 'conversationPauseHours'],
    ['a negative pause', { ...valid, conversationPauseHours: -1 }, 'conversationPauseHours'],
    ['an unknown field', { ...valid, quietHour: null }, 'quietHour'],
    ['an unknown caps field', { ...valid, caps: { perDay: 1, per30Days: 4, perWeek: 2 } }, 'caps.perWeek'],
  ])('refuses %s with 400 naming the field', async (_what, body, field) => {
    const before = await h.getJson('/api/policy');
    const res = await put(body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('bad_request');
    expect(err.error.message.startsWith(`${field}: `)).toBe(true);
    expect(await h.getJson('/api/policy')).toEqual(before);
  });

  it('refuses a body that is not a JSON object, and asks for the admin token', async () => {
    expect((await put('{not json')).status).toBe(400);
    expect((await put('[1,2]')).status).toBe(400);
    expect((await h.request('/api/policy', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(valid) })).status).toBe(415);
    expect((await h.request('/api/policy', { auth: false })).status).toBe(401);
    expect((await h.request('/api/policy', { method: 'PUT', auth: false, headers: { 'content-type': 'application/json' }, body: JSON.stringify(valid) })).status).toBe(401);
  });
});

describe('bull-board at /admin/queues', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('answers 401 without the admin token or with a wrong one, and shows every queue with it', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const none = await fetch(h.url + path);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await fetch(h.url + path, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
    }
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const page = await fetch(`${h.url}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await fetch(`${h.url}/admin/queues/api/queues?activeQueue=send-wecom&page=1`, { headers: auth });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['inbound', 'send-sms', 'send-email', 'send-wecom', 'wecom-poll']));
    // the rest of the app is unaffected
    expect((await fetch(`${h.url}/admin/queuesX`)).status).toBe(404);
  });
});
