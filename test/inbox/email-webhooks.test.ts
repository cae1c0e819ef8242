// The inbound email webhooks over HTTP, against the real MariaDB and Redis: every bad input gets
// its status and stores nothing; good raw, Mailgun (the published signature vector) and SendGrid mail
// is stored once, however often it is posted.
import fs from 'node:fs';
import path from 'node:path';
import { mailgunSignature, mailgunSignatureValid } from '../../channels/email/mailgun.email';
import { startHarness, type Harness } from '../support/harness';
import { readVectors, vectorFileSha256, VECTOR_FILES } from '../support/vectors';

const TOKEN = 'email_hook_0123456789abcdefXYZ';
// the published Mailgun vector, copied into test/fixtures/vectors from ../shared/vectors (checked unchanged below)
const MG = readVectors('sms-email.json').mailgun as {
  signingKey: string;
  timestamp: string;
  token: string;
  signature: string;
  wrongToken: string;
};
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '../fixtures/email', name));

interface Row {
  channel: string;
  type: string;
  dedup_key: string;
  payload: any;
}

async function events(h: Harness): Promise<Row[]> {
  const rows = await h.app.db.query('SELECT channel, type, dedup_key, payload FROM inbound_event ORDER BY id');
  return rows.map((r: any) => ({ ...r, payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload }));
}

/** A multipart/form-data body with exact bytes; a part with a filename is a file. */
function multipart(parts: { name: string; value: Buffer | string; filename?: string; type?: string }[], boundary = 'tp-boundary-7MA4YWxkTrZu0gW'): { body: Buffer; type: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n`;
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/** x-www-form-urlencoded with every byte of a Buffer value percent-encoded as is. */
function urlencoded(fields: Record<string, string | Buffer>): string {
  const enc = (v: string | Buffer) => (Buffer.isBuffer(v) ? [...v].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('') : encodeURIComponent(v));
  return Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${enc(v)}`)
    .join('&');
}

const post = (h: Harness, p: string, body: RequestInit['body'], type?: string, extra: Record<string, string> = {}) =>
  h.request(p, { method: 'POST', body, headers: { ...(type ? { 'content-type': type } : {}), ...extra } });

async function expectRefused(res: Response, status: number, code: string, h: Harness): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toBeTruthy();
  expect(await events(h)).toEqual([]);
}

describe('the Mailgun signature vector', () => {
  it('the in-repo copy is the published vectors file, unchanged', () => {
    expect(vectorFileSha256('sms-email.json')).toBe(VECTOR_FILES['sms-email.json']);
  });

  it('signs and verifies; the wrong token does not', () => {
    expect(mailgunSignature(MG.signingKey, MG.timestamp, MG.token)).toBe(MG.signature);
    expect(mailgunSignatureValid(MG.signingKey, MG.timestamp, MG.token, MG.signature)).toBe(true);
    expect(mailgunSignatureValid(MG.signingKey, MG.timestamp, MG.token, MG.signature.toUpperCase())).toBe(true);
    expect(mailgunSignatureValid(MG.signingKey, MG.timestamp, MG.wrongToken, MG.signature)).toBe(false);
    expect(mailgunSignature(MG.signingKey, MG.timestamp, MG.wrongToken)).toBe('1c1f16b87b07fe6486354370a2f842812db048f4aa687834fae9bc697789d5dc');
    expect(mailgunSignatureValid(MG.signingKey, MG.timestamp, MG.token, MG.signature.slice(0, 63))).toBe(false);
  });
});

describe('POST /webhooks/email/raw/:token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { EMAIL_WEBHOOK_TOKEN: TOKEN } });
  });
  beforeEach(() => h.app.db.query('DELETE FROM inbound_event'));
  afterAll(() => h.close());

  it('stores a raw GBK message once, even when it is posted twice', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post(h, `/webhooks/email/raw/${TOKEN}`, fixture('gbk-8bit.eml'), 'message/rfc822');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true });
    }
    const rows = await events(h);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel: 'email', type: 'email/rfc822/message', dedup_key: 'email:<gbk-0001@qq.example>' });
    expect(rows[0].payload).toMatchObject({
      provider: 'rfc822',
      from: { email: 'wxm@qq.example', name: '王小明' },
      subject: '生日快乐！您的会员礼已到账',
      text: '您好，我想问一下会员礼什么时候可以用？\n另外，咖啡豆还有货吗？',
    });
  });

  it('takes any Content-Type, or none', async () => {
    expect((await post(h, `/webhooks/email/raw/${TOKEN}`, fixture('qq-reply.eml'), 'application/octet-stream')).status).toBe(200);
    expect((await post(h, `/webhooks/email/raw/${TOKEN}`, new Uint8Array(fixture('gmail-en-reply.eml')))).status).toBe(200);
    expect((await events(h)).map((r) => r.dedup_key)).toEqual(['email:<tencent_ABCDEF0123456789@qq.example>', 'email:<CAGmail0002@mail.gmail.example>']);
  });

  it('a 20 MB mail (big attachment, long text) is stored without the attachment body and with bounded text', async () => {
    const attachment = Buffer.alloc(14 * 1024 * 1024, 7).toString('base64').replace(/.{76}/g, '$&\r\n');
    const text = `${'很长的一段话。'.repeat(100)}\r\n`.repeat(1_000);
    const raw = Buffer.from(
      `From: big@example.org\r\nSubject: big\r\nMessage-ID: <big-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n` +
        `--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n--m\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename="photos.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--m--\r\n`,
    );
    expect(raw.length).toBeGreaterThan(20 * 1024 * 1024);
    expect(raw.length).toBeLessThan(25 * 1024 * 1024);
    const res = await post(h, `/webhooks/email/raw/${TOKEN}`, raw, 'message/rfc822');
    expect(res.status).toBe(200);
    const [row] = await events(h);
    expect(row.payload.attachments).toEqual([{ filename: 'photos.zip', contentType: 'application/zip', size: 14 * 1024 * 1024 }]);
    expect(row.payload.truncated).toEqual(expect.arrayContaining(['text', 'fullText']));
    const [{ n }] = await h.app.db.query('SELECT LENGTH(payload) AS n FROM inbound_event');
    expect(Number(n)).toBeLessThan(1024 * 1024);
  }, 60_000);

  it('wrong token → 404, nothing stored', async () => {
    await expectRefused(await post(h, `/webhooks/email/raw/${TOKEN.slice(0, -1)}x`, fixture('gbk-8bit.eml'), 'message/rfc822'), 404, 'not_found', h);
    await expectRefused(await post(h, `/webhooks/email/raw/short`, fixture('gbk-8bit.eml'), 'message/rfc822'), 404, 'not_found', h);
  });

  it('not a mail → 400 naming the problem, nothing stored', async () => {
    await expectRefused(await post(h, `/webhooks/email/raw/${TOKEN}`, '{"from":"a@b.example","text":"hi"}', 'application/json'), 400, 'bad_mime', h);
    await expectRefused(await post(h, `/webhooks/email/raw/${TOKEN}`, '', 'message/rfc822'), 400, 'bad_mime', h);
    const res = await post(h, `/webhooks/email/raw/${TOKEN}`, 'Subject: no sender\r\n\r\nhello\r\n', 'message/rfc822');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/From/);
    expect(await events(h)).toEqual([]);
  });

  it('over 25 MB → 413, by Content-Length or while streaming, nothing stored', async () => {
    const big = Buffer.alloc(25 * 1024 * 1024 + 1, 0x61);
    await expectRefused(await post(h, `/webhooks/email/raw/${TOKEN}`, big, 'message/rfc822'), 413, 'too_large', h);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 26) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(`${h.url}/webhooks/email/raw/${TOKEN}`, { method: 'POST', body: stream, headers: { 'content-type': 'message/rfc822' }, duplex: 'half' } as RequestInit);
    await expectRefused(res, 413, 'too_large', h);
  }, 60_000);
});

describe('email webhooks that are not configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('without EMAIL_WEBHOOK_TOKEN the raw and SendGrid routes answer 404; without MAILGUN_SIGNING_KEY Mailgun does', async () => {
    await expectRefused(await post(h, `/webhooks/email/raw/${TOKEN}`, fixture('gbk-8bit.eml'), 'message/rfc822'), 404, 'not_found', h);
    const form = multipart([{ name: 'email', value: fixture('gbk-8bit.eml') }]);
    await expectRefused(await post(h, `/webhooks/email/sendgrid/${TOKEN}`, form.body, form.type), 404, 'not_found', h);
    await expectRefused(await post(h, '/webhooks/email/mailgun', urlencoded({ timestamp: MG.timestamp, token: MG.token, signature: MG.signature }), 'application/x-www-form-urlencoded'), 404, 'channel_off', h);
  });
});

describe('POST /webhooks/email/mailgun', () => {
  let h: Harness;
  // the published vector was signed at 1403645220: the server's clock is a minute after it
  const vectorNow = new Date((Number(MG.timestamp) + 60) * 1000);
  let clock = vectorNow;
  beforeAll(async () => {
    h = await startHarness({ env: { MAILGUN_SIGNING_KEY: MG.signingKey }, now: () => clock });
  });
  beforeEach(async () => {
    clock = vectorNow;
    await h.app.db.query('DELETE FROM inbound_event');
    await h.app.redis.flushdb();
  });
  afterAll(() => h.close());

  const signed = { timestamp: MG.timestamp, token: MG.token, signature: MG.signature };
  const parsedFields = {
    recipient: 'hello@shop.example',
    sender: 'bounce@mg.example.org',
    from: '=?UTF-8?B?5byg5LiJ?= <ZhangSan@Example.org>',
    subject: 'Re: 会员日活动',
    'body-plain': '我来参加。\n\n在 2026年11月22日 10:00，好店 <hello@shop.example> 写道：\n> 欢迎报名\n',
    'stripped-text': '我来参加。',
    'body-html': '<div>我来参加。</div><blockquote>欢迎报名</blockquote><script>x()</script>',
    'message-headers': JSON.stringify([
      ['Received', 'from mx.example.org'],
      ['From', '=?UTF-8?B?5byg5LiJ?= <ZhangSan@Example.org>'],
      ['Subject', 'Re: 会员日活动'],
      ['Message-Id', '<mg-reply-1@example.org>'],
      ['In-Reply-To', '<3f1c0a2e-0002@shop.example>'],
      ['References', '<3f1c0a2e-0002@shop.example>'],
      ['Date', 'Mon, 23 Nov 2026 08:00:00 +0800'],
    ]),
  };

  it('the published vector signs a parsed (urlencoded) post: stored once with stripped-text as the text, even posted twice', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, ...signed }), 'application/x-www-form-urlencoded');
      expect(res.status).toBe(200);
    }
    const rows = await events(h);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: 'email/mailgun/message', dedup_key: 'email:<mg-reply-1@example.org>' });
    expect(rows[0].payload).toMatchObject({
      provider: 'mailgun',
      from: { email: 'zhangsan@example.org', name: '张三' },
      subject: 'Re: 会员日活动',
      text: '我来参加。',
      thread: { messageId: '<mg-reply-1@example.org>', inReplyTo: '<3f1c0a2e-0002@shop.example>', references: ['<3f1c0a2e-0002@shop.example>'] },
      sentAt: '2026-11-23T00:00:00.000Z',
    });
    expect(rows[0].payload.fullText).toContain('写道');
    expect(rows[0].payload.html).not.toContain('script');
  });

  it('body-mime is preferred (multipart, 8-bit GBK bytes intact), attachments counted, not kept', async () => {
    const form = multipart([
      { name: 'body-mime', value: fixture('gbk-8bit.eml') },
      { name: 'timestamp', value: MG.timestamp },
      { name: 'token', value: MG.token },
      { name: 'signature', value: MG.signature },
      { name: 'attachment-1', value: Buffer.alloc(5000, 1), filename: 'x.bin', type: 'application/octet-stream' },
    ]);
    const res = await post(h, '/webhooks/email/mailgun', form.body, form.type);
    expect(res.status).toBe(200);
    const [row] = await events(h);
    expect(row.dedup_key).toBe('email:<gbk-0001@qq.example>');
    expect(row.payload).toMatchObject({ provider: 'mailgun', subject: '生日快乐！您的会员礼已到账', text: '您好，我想问一下会员礼什么时候可以用？\n另外，咖啡豆还有货吗？' });
  });

  it('body-mime urlencoded with percent-encoded GBK bytes', async () => {
    const res = await post(h, '/webhooks/email/mailgun', urlencoded({ 'body-mime': fixture('gbk-undeclared.eml'), ...signed }), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    const [row] = await events(h);
    expect(row.payload).toMatchObject({ subject: '咖啡豆还有吗', text: '您好，请问埃塞俄比亚的咖啡豆还有货吗？' });
  });

  it('parsed multipart post: attachment metadata with content ids, no bodies', async () => {
    const form = multipart([
      ...Object.entries(parsedFields).map(([name, value]) => ({ name, value })),
      { name: 'attachment-count', value: '2' },
      { name: 'content-id-map', value: JSON.stringify({ '<img1@example.org>': 'attachment-2' }) },
      { name: 'attachment-1', value: Buffer.alloc(3000, 2), filename: '发票.pdf', type: 'application/pdf' },
      { name: 'attachment-2', value: Buffer.alloc(70, 3), filename: 'a.png', type: 'image/png' },
      ...Object.entries(signed).map(([name, value]) => ({ name, value })),
    ]);
    expect((await post(h, '/webhooks/email/mailgun', form.body, form.type)).status).toBe(200);
    const [row] = await events(h);
    expect(row.payload.attachments).toEqual([
      { filename: '发票.pdf', contentType: 'application/pdf', size: 3000 },
      { filename: 'a.png', contentType: 'image/png', size: 70, contentId: '<img1@example.org>' },
    ]);
  });

  it("the vector's wrong token with the same signature → 401, nothing stored", async () => {
    const res = await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, ...signed, token: MG.wrongToken }), 'application/x-www-form-urlencoded');
    await expectRefused(res, 401, 'bad_signature', h);
  });

  it('missing or malformed signature → 401', async () => {
    await expectRefused(await post(h, '/webhooks/email/mailgun', urlencoded(parsedFields), 'application/x-www-form-urlencoded'), 401, 'missing_signature', h);
    await expectRefused(await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, ...signed, signature: 'zz' }), 'application/x-www-form-urlencoded'), 401, 'bad_signature', h);
    await expectRefused(await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, ...signed, signature: MG.signature.toUpperCase().replace(/^9/, '8') }), 'application/x-www-form-urlencoded'), 401, 'bad_signature', h);
  });

  it('a signature older than 15 minutes → 401 stale_timestamp; 14 minutes is fine', async () => {
    clock = new Date((Number(MG.timestamp) + 15 * 60 + 1) * 1000);
    await expectRefused(await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, ...signed }), 'application/x-www-form-urlencoded'), 401, 'stale_timestamp', h);
    clock = new Date((Number(MG.timestamp) + 14 * 60) * 1000);
    expect((await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, ...signed }), 'application/x-www-form-urlencoded')).status).toBe(200);
  });

  it('a signature token reused for another mail → 401 replayed_token; the first mail stays the only one', async () => {
    expect((await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, ...signed }), 'application/x-www-form-urlencoded')).status).toBe(200);
    const forged = { ...parsedFields, 'message-headers': parsedFields['message-headers'].replace('mg-reply-1', 'mg-forged-2'), 'stripped-text': '退订' };
    const res = await post(h, '/webhooks/email/mailgun', urlencoded({ ...forged, ...signed }), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('replayed_token');
    expect((await events(h)).map((r) => r.dedup_key)).toEqual(['email:<mg-reply-1@example.org>']);
  });

  it('a fresh signature made with the key is accepted (timestamp + token, hex HMAC-SHA256)', async () => {
    const ts = String(Math.floor(clock.getTime() / 1000) - 30);
    const token = 'f'.repeat(50);
    const res = await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, timestamp: ts, token, signature: mailgunSignature(MG.signingKey, ts, token) }), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
  });

  it('malformed form or fields → 400, nothing stored', async () => {
    await expectRefused(await post(h, '/webhooks/email/mailgun', JSON.stringify({ ...parsedFields, ...signed }), 'application/json'), 400, 'bad_form', h);
    const torn = multipart(Object.entries(signed).map(([name, value]) => ({ name, value })));
    await expectRefused(await post(h, '/webhooks/email/mailgun', torn.body.subarray(0, torn.body.length - 20), torn.type), 400, 'bad_form', h);
    await expectRefused(await post(h, '/webhooks/email/mailgun', torn.body, 'multipart/form-data'), 400, 'bad_form', h);
    await expectRefused(
      await post(h, '/webhooks/email/mailgun', urlencoded({ ...parsedFields, 'message-headers': '[["From", "x"', ...signed }), 'application/x-www-form-urlencoded'),
      400,
      'bad_mime',
      h,
    );
    await expectRefused(
      await post(h, '/webhooks/email/mailgun', urlencoded({ 'body-mime': 'this is not a message', ...signed }), 'application/x-www-form-urlencoded'),
      400,
      'bad_mime',
      h,
    );
  });
});

describe('POST /webhooks/email/sendgrid/:token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { EMAIL_WEBHOOK_TOKEN: TOKEN } });
  });
  beforeEach(() => h.app.db.query('DELETE FROM inbound_event'));
  afterAll(() => h.close());

  const rawModeForm = (eml: Buffer) =>
    multipart([
      { name: 'dkim', value: '{@shop.example : pass}' },
      { name: 'email', value: eml },
      { name: 'to', value: 'hello@shop.example' },
      { name: 'from', value: 'Dave Miller <dave@outlook.example>' },
      { name: 'sender_ip', value: '203.0.113.9' },
      { name: 'envelope', value: '{"to":["hello@shop.example"],"from":"dave@outlook.example"}' },
      { name: 'charsets', value: '{"to":"UTF-8","from":"UTF-8","subject":"UTF-8"}' },
      { name: 'SPF', value: 'pass' },
    ]);

  it('raw mode: the `email` field is parsed; stored once when posted twice', async () => {
    const form = rawModeForm(fixture('outlook-reply.eml'));
    for (let i = 0; i < 2; i++) expect((await post(h, `/webhooks/email/sendgrid/${TOKEN}`, form.body, form.type)).status).toBe(200);
    const rows = await events(h);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: 'email/sendgrid/message', dedup_key: 'email:<PH0PR0001@outlook.example>' });
    expect(rows[0].payload).toMatchObject({ provider: 'sendgrid', text: 'Please cancel it – I ordered twice by mistake.\n\nDave', from: { email: 'dave@outlook.example' } });
  });

  it('the same mail through SendGrid and the raw endpoint is one event (keyed by Message-ID)', async () => {
    const form = rawModeForm(fixture('qq-reply.eml'));
    expect((await post(h, `/webhooks/email/sendgrid/${TOKEN}`, form.body, form.type)).status).toBe(200);
    expect((await post(h, `/webhooks/email/raw/${TOKEN}`, fixture('qq-reply.eml'), 'message/rfc822')).status).toBe(200);
    expect(await events(h)).toHaveLength(1);
  });

  it('wrong token → 404; parsed mode, urlencoded or torn multipart → 400; nothing stored', async () => {
    const form = rawModeForm(fixture('outlook-reply.eml'));
    await expectRefused(await post(h, `/webhooks/email/sendgrid/not-the-token-0123456789abcdef`, form.body, form.type), 404, 'not_found', h);
    const parsedMode = multipart([
      { name: 'headers', value: 'From: a@b.example' },
      { name: 'text', value: 'hi' },
      { name: 'from', value: 'a@b.example' },
    ]);
    const res = await post(h, `/webhooks/email/sendgrid/${TOKEN}`, parsedMode.body, parsedMode.type);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'bad_form', message: expect.stringMatching(/raw, full MIME/) });
    await expectRefused(await post(h, `/webhooks/email/sendgrid/${TOKEN}`, 'email=From%3A+a%40b.example%0D%0A%0D%0Ahi', 'application/x-www-form-urlencoded'), 400, 'bad_form', h);
    await expectRefused(await post(h, `/webhooks/email/sendgrid/${TOKEN}`, form.body.subarray(0, 200), form.type), 400, 'bad_form', h);
    const notMail = multipart([{ name: 'email', value: 'hello there' }]);
    await expectRefused(await post(h, `/webhooks/email/sendgrid/${TOKEN}`, notMail.body, notMail.type), 400, 'bad_mime', h);
  });
});

describe('inbound email while the database is down', () => {
  it('answers 503 so the sender retries', async () => {
    const h = await startHarness({ env: { EMAIL_WEBHOOK_TOKEN: TOKEN } });
    try {
      await h.app.db.destroy();
      const res = await post(h, `/webhooks/email/raw/${TOKEN}`, fixture('gbk-8bit.eml'), 'message/rfc822');
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error.code).toBe('store_unavailable');
    } finally {
      await h.close();
    }
  });
});
