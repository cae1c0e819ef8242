// /api consents, staff messages and deliveries over HTTP: every bad input answered with the right
// status and nothing written; good requests write one ledger entry / one delivery per idempotency key.
import { resolveCustomer } from '../../src/customers/customers';
import { inTransaction } from '../../src/platform/tx';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp.fake';
import { startHarness, waitFor, type Harness } from '../support/harness';

describe('consents, messages and deliveries API', () => {
  let smtp: FakeSmtp;
  let h: Harness;
  let customerId: string;
  let noEmailId: string;

  beforeAll(async () => {
    smtp = await startFakeSmtp();
  });
  beforeEach(async () => {
    smtp.messages.length = 0;
    h = await startHarness({ worker: true, env: smtp.env() });
    customerId = await inTransaction(h.app.db, async (em) => (await resolveCustomer(em, [{ channel: 'email', externalId: 'li@qq.example' }], new Date(), new Date())).customerId);
    noEmailId = await inTransaction(h.app.db, async (em) => (await resolveCustomer(em, [{ channel: 'wecom', externalId: 'wmNOEMAIL' }], new Date(), new Date())).customerId);
  });
  afterEach(() => h.close());
  afterAll(() => smtp.close());

  const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    h.request(path, { method, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const count = async (table: string) => Number((await h.app.db.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
  const errorOf = async (res: Response) => ((await res.json()) as any).error;

  it.each([
    ['not JSON', '{"status":', 400, /body/],
    ['a JSON array', '[]', 400, /body/],
    ['a bad status', { status: 'maybe', actor: 'admin' }, 400, /^status/],
    ['no actor', { status: 'opted_out' }, 400, /^actor/],
  ])('PUT consents with %s → 400, nothing recorded', async (_name, body, status, message) => {
    const res = await json('PUT', `/api/customers/${customerId}/consents/sms`, body);
    expect(res.status).toBe(status);
    expect((await errorOf(res)).message).toMatch(message);
    expect(await count('consent_event')).toBe(0);
  });

  it('PUT consents: unknown channel → 400, unknown customer → 404, wrong content type → 415', async () => {
    expect((await json('PUT', `/api/customers/${customerId}/consents/fax`, { status: 'opted_out', actor: 'a' })).status).toBe(400);
    expect((await json('PUT', `/api/customers/999999/consents/sms`, { status: 'opted_out', actor: 'a' })).status).toBe(404);
    const res = await h.request(`/api/customers/${customerId}/consents/sms`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'opted_out' });
    expect(res.status).toBe(415);
    expect(await count('consent_event')).toBe(0);
  });

  it('PUT consents records who did it; the ledger keeps both entries and the newest wins', async () => {
    expect((await json('PUT', `/api/customers/${customerId}/consents/email`, { status: 'opted_out', actor: '店长小王', note: '电话里要求' })).status).toBe(200);
    const res = await json('PUT', `/api/customers/${customerId}/consents/email`, { status: 'opted_in', actor: '店长小王' });
    const view = (await res.json()) as any;
    expect(view.current).toEqual([expect.objectContaining({ channel: 'email', status: 'opted_in' })]);
    expect(view.ledger.map((e: any) => [e.action, e.source, e.actor])).toEqual([
      ['opt_in', 'manual', '店长小王'],
      ['opt_out', 'manual', '店长小王'],
    ]);
  });

  it.each([
    ['no channel', { text: 'hi' }, 400, /^channel/],
    ['an unknown channel', { channel: 'fax', text: 'hi' }, 400, /^channel/],
    ['email without text', { channel: 'email' }, 400, /^text/],
    ['text that is not a string', { channel: 'email', text: 42 }, 400, /^text/],
    ['a template that is not an object', { channel: 'email', text: 'x', template: 'abc' }, 400, /^template/],
  ])('POST messages with %s → 400, no delivery', async (_name, body, status, message) => {
    const res = await json('POST', `/api/customers/${customerId}/messages`, body);
    expect(res.status).toBe(status);
    expect((await errorOf(res)).message).toMatch(message);
    expect(await count('delivery')).toBe(0);
  });

  it('POST messages: unknown customer → 404; SMS off → 409; no email address → 409; nothing written', async () => {
    expect((await json('POST', `/api/customers/999999/messages`, { channel: 'email', text: 'hi' })).status).toBe(404);
    const off = await json('POST', `/api/customers/${customerId}/messages`, { channel: 'sms', text: 'hi' });
    expect(off.status).toBe(409);
    expect((await errorOf(off)).code).toBe('channel_off');
    const noAddress = await json('POST', `/api/customers/${noEmailId}/messages`, { channel: 'email', text: 'hi' });
    expect(noAddress.status).toBe(409);
    expect((await errorOf(noAddress)).code).toBe('no_address');
    expect(await count('delivery')).toBe(0);
  });

  it('POST messages is idempotent on Idempotency-Key: one delivery, one email', async () => {
    const send = () => json('POST', `/api/customers/${customerId}/messages`, { channel: 'email', text: '您好，豆子到了', subject: '到货通知', actor: 'zhangsan' }, { 'idempotency-key': 'k-1' });
    const first = await send();
    expect(first.status).toBe(202);
    const d = (await first.json()) as any;
    expect(d).toMatchObject({ channel: 'email', status: 'queued', to: 'li@qq.example', requestedBy: 'zhangsan', purpose: 'manual' });
    const again = await send();
    expect(again.status).toBe(200);
    expect(((await again.json()) as any).id).toBe(d.id);
    await waitFor(async () => (await h.getJson(`/api/deliveries/${d.id}`)).status === 'sent', 10_000, 'sent');
    expect(smtp.messages).toHaveLength(1);
    expect(await count('delivery')).toBe(1);
    const timeline = await h.getJson(`/api/customers/${customerId}/timeline`);
    expect(timeline.items[0]).toMatchObject({ channel: 'email', direction: 'out', kind: 'message' });
  });

  it('GET deliveries filters and validates', async () => {
    expect((await h.request('/api/deliveries?status=lost')).status).toBe(400);
    expect((await h.request('/api/deliveries?channel=fax')).status).toBe(400);
    expect((await h.request('/api/deliveries?customerId=abc')).status).toBe(400);
    expect((await h.request('/api/deliveries/424242')).status).toBe(404);
    expect((await h.getJson(`/api/deliveries?customerId=${customerId}&status=queued&channel=email`)).items).toEqual([]);
  });
});
