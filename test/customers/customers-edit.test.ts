// PATCH /api/customers/:id and POST /api/customers/import over HTTP against the real database:
// validation (real dates only, --02-29 allowed), phone/email become identities, the timeline
// records what changed and who changed it; the CSV import matches by any identity, adds manual
// tags, and reports bad rows by line and field without stopping.
import { resolveCustomer } from '../../src/customers/customers';
import { inTransaction } from '../../src/platform/tx';
import { startHarness, type Harness } from '../support/harness';

function patch(h: Harness, id: string, body: unknown): Promise<Response> {
  return h.request(`/api/customers/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...body.error };
}

async function newCustomer(h: Harness, wecom: string, phone?: string): Promise<string> {
  return inTransaction(h.app.db, async (em) => {
    const now = new Date();
    const ids = [{ channel: 'wecom' as const, externalId: wecom }, ...(phone ? [{ channel: 'phone' as const, externalId: phone }] : [])];
    return (await resolveCustomer(em, ids, now, now)).customerId;
  });
}

async function timeline(h: Harness, id: string) {
  return (await h.getJson(`/api/customers/${id}/timeline`)).items as any[];
}

describe('PATCH /api/customers/:id', () => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM customer');
    id = await newCustomer(h, 'wmEDIT0001');
  });

  it.each([
    ['2023-02-29 (2023 is no leap year)', { birthday: '2023-02-29' }, 'birthday'],
    ['1990-13-01', { birthday: '1990-13-01' }, 'birthday'],
    ['1990-04-31', { birthday: '1990-04-31' }, 'birthday'],
    ['--02-30', { birthday: '--02-30' }, 'birthday'],
    ['15/06/1990', { birthday: '15/06/1990' }, 'birthday'],
    ['a number', { birthday: 19900615 }, 'birthday'],
    ['a phone that is none', { phone: '12' }, 'phone'],
    ['clearing the phone', { phone: null }, 'phone'],
    ['an email that is none', { email: 'a@b' }, 'email'],
    ['a name over 128 characters', { name: 'x'.repeat(129) }, 'name'],
    ['notes over 10000 characters', { notes: 'x'.repeat(10_001) }, 'notes'],
    ['a field that cannot be changed', { churnRisk: true }, 'churnRisk'],
    ['nothing to change', {}, 'body'],
  ])('%s → 400 naming the field, nothing changed', async (_name, body, field) => {
    const err = await errorOf(await patch(h, id, { actor: '店长', ...body }));
    expect(err.status).toBe(400);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(await timeline(h, id)).toEqual([]);
    const [c] = await h.app.db.query(`SELECT name, birthday, phone, email, notes FROM customer WHERE id = ?`, [id]);
    expect(c).toEqual({ name: null, birthday: null, phone: null, email: null, notes: null });
  });

  it('actor is required', async () => {
    expect(await errorOf(await patch(h, id, { name: '王哥' }))).toMatchObject({ status: 400, message: expect.stringMatching(/^actor: /) });
  });

  it('sets name, birthday (year unknown, 29 February), phone, email and notes; the timeline says what changed and who', async () => {
    const res = await patch(h, id, { actor: '店长小李', name: '王哥', birthday: '--02-29', phone: '138 0013 8000', email: 'Wang@Example.com', notes: '喜欢深烘，周末来店' });
    expect(res.status).toBe(200);
    const p = (await res.json()) as any;
    expect(p).toMatchObject({ id, name: '王哥', birthday: '--02-29', phone: '+8613800138000', email: 'wang@example.com', notes: '喜欢深烘，周末来店' });
    expect(p.identities).toEqual(
      expect.arrayContaining([
        { channel: 'phone', externalId: '+8613800138000' },
        { channel: 'email', externalId: 'wang@example.com' },
      ]),
    );
    const [md] = await h.app.db.query(`SELECT birthday_md FROM customer WHERE id = ?`, [id]);
    expect(md.birthday_md).toBe('02-29');
    const tl = await timeline(h, id);
    expect(tl).toHaveLength(1);
    expect(tl[0]).toMatchObject({ channel: 'admin', direction: 'internal', kind: 'profile_updated', staff: '店长小李' });
    expect(tl[0].text).toBe(
      '店长小李 changed name: — → 王哥; birthday: — → --02-29; phone: — → +8613800138000; email: — → wang@example.com; notes: — → "喜欢深烘，周末来店"',
    );
    const [data] = await h.app.db.query(`SELECT data FROM timeline_entry WHERE customer_id = ?`, [id]);
    const d = typeof data.data === 'string' ? JSON.parse(data.data) : data.data;
    expect(d).toEqual({ actor: '店长小李', changes: expect.objectContaining({ birthday: { from: null, to: '--02-29' } }) });

    // a real leap-day birthday with a year; the same values again change nothing and add no entry
    expect((await patch(h, id, { actor: '店长小李', birthday: '2000-02-29' })).status).toBe(200);
    expect((await patch(h, id, { actor: '店长小李', birthday: '2000-02-29', name: '王哥' })).status).toBe(200);
    const after = await timeline(h, id);
    expect(after).toHaveLength(2);
    expect(after[0].text).toBe('店长小李 changed birthday: --02-29 → 2000-02-29');

    // clearing: birthday null, notes ''
    expect((await patch(h, id, { actor: 'ops', birthday: null, notes: '' })).status).toBe(200);
    const [c] = await h.app.db.query(`SELECT birthday, birthday_md, notes FROM customer WHERE id = ?`, [id]);
    expect(c).toEqual({ birthday: null, birthday_md: null, notes: null });
  });

  it("another customer's phone → 409, nothing changed", async () => {
    const other = await newCustomer(h, 'wmEDIT0002', '+8613900139000');
    const err = await errorOf(await patch(h, id, { actor: 'ops', phone: '13900139000', name: '新名字' }));
    expect(err).toEqual({ status: 409, code: 'identity_taken', message: `phone: already belongs to customer ${other}` });
    const [c] = await h.app.db.query(`SELECT name, phone FROM customer WHERE id = ?`, [id]);
    expect(c).toEqual({ name: null, phone: null });
  });

  it('unknown customer → 404; the admin token is required', async () => {
    expect((await patch(h, '999999999', { actor: 'ops', name: 'x' })).status).toBe(404);
    expect((await patch(h, 'abc', { actor: 'ops', name: 'x' })).status).toBe(404);
    const res = await h.request(`/api/customers/${id}`, { method: 'PATCH', auth: false, headers: { 'content-type': 'application/json' }, body: '{"actor":"x","name":"y"}' });
    expect(res.status).toBe(401);
  });
});

describe('POST /api/customers/import', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM customer');
    await h.app.db.query('DELETE FROM tag');
  });

  const importCsv = (csv: string) => h.request('/api/customers/import', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });

  it('matches existing customers by any identity, creates the rest, adds manual tags, and reports bad rows', async () => {
    const existing = await newCustomer(h, 'wmIMP0001');
    const byPhone = await newCustomer(h, 'wmIMP0002', '+8613700137000');
    const csv = [
      'name,phone,email,wecomExternalUserId,birthday,tags',
      '王哥,,,wmIMP0001,1985-07-01,VIP;咖啡豆', // 2: matched by WeCom id
      '李姐,137 0013 7000,li@example.com,,--12-24,VIP', // 3: matched by phone, email attached
      '新客,13600136000,,,,', // 4: created
      '坏电话,12,,,,', // 5: bad phone
      '坏生日,13500135000,,,2023-02-29,', // 6: bad birthday
      '没身份,,,,,', // 7: no identity
      '"张三",,zhang@example.com,,,"团购; VIP ;"', // 8: created, tags trimmed
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    const r = (await res.json()) as any;
    expect(r).toEqual({
      imported: 4,
      created: 2,
      matched: 2,
      skipped: 3,
      errorsTruncated: false,
      errors: [
        { line: 5, field: 'phone', message: 'is not a phone number' },
        { line: 6, field: 'birthday', message: 'must be a real date as YYYY-MM-DD or --MM-DD' },
        { line: 7, field: 'phone', message: expect.stringMatching(/at least one of phone, email/) },
      ],
    });
    const a = await h.getJson(`/api/customers/${existing}`);
    expect(a).toMatchObject({ name: '王哥', birthday: '1985-07-01' });
    expect(a.tags).toEqual([
      { name: 'VIP', group: null, source: 'manual' },
      { name: '咖啡豆', group: null, source: 'manual' },
    ]);
    const b = await h.getJson(`/api/customers/${byPhone}`);
    expect(b).toMatchObject({ name: '李姐', birthday: '--12-24', email: 'li@example.com' });
    expect((await h.getJson('/api/identities/email/li@example.com')).id).toBe(byPhone);
    const z = await h.getJson('/api/identities/email/zhang@example.com');
    expect(z.tags.map((t: any) => t.name).sort()).toEqual(['VIP', '团购']);
    // one VIP tag row shared by everyone
    const [vip] = await h.app.db.query(`SELECT COUNT(*) AS n FROM tag WHERE name = 'VIP'`);
    expect(Number(vip.n)).toBe(1);
    const [n] = await h.app.db.query(`SELECT COUNT(*) AS n FROM customer`);
    expect(Number(n.n)).toBe(4);
    // the tag filter of the list finds manual tags
    const list = await h.getJson('/api/customers?tag=VIP');
    expect(list.items.map((i: any) => i.id).sort()).toEqual([existing, byPhone, z.id].sort());

    // again: everyone matched, nothing created, names kept
    const again = (await (await importCsv(csv.replace('王哥', '王建国'))).json()) as any;
    expect(again).toMatchObject({ imported: 4, created: 0, matched: 4, skipped: 3 });
    expect((await h.getJson(`/api/customers/${existing}`)).name).toBe('王哥');
  });

  it('a header without any identity column → 400', async () => {
    const res = await importCsv('name,birthday\n王哥,1985-07-01\n');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/^header: needs at least one of the columns phone, email/);
  });
});
