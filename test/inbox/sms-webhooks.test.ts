// The SMS webhooks over HTTP against the real database: every bad input gets its status and stores
// nothing; good replies and delivery reports land in the durable inbox under stable de-dup keys,
// and each provider gets exactly the acknowledgement it expects.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { startHarness, type Harness } from '../support/harness';
import { signTwilioRequest, twilioSid } from '../fakes/twilio.fake';

const TOKEN = 'sms-hook-token-3f9a8c7d6e5b4a39';
const TWILIO_TOKEN = 'twilio-auth-token-for-tests-01';
const PUBLIC = 'https://tp.example.com';
const TWILIO_URL = `${PUBLIC}/webhooks/sms/twilio`;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

interface EventRow {
  channel: string;
  type: string;
  dedup_key: string;
  status: string;
  payload: any;
}

async function errorMessage(res: Response): Promise<string> {
  const body = (await res.json()) as { error?: { message?: string } };
  return body.error?.message ?? '';
}

async function events(h: Harness): Promise<EventRow[]> {
  const rows: EventRow[] = await h.app.db.query('SELECT channel, type, dedup_key, status, payload FROM inbound_event ORDER BY id');
  return rows.map((r) => ({ ...r, payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload }));
}

function postJson(h: Harness, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

function postTwilio(h: Harness, params: Record<string, string>, opts: { url?: string; signUrl?: string; signature?: string | null; path?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const path = opts.path ?? '/webhooks/sms/twilio';
  const signature = opts.signature === undefined ? signTwilioRequest(TWILIO_TOKEN, opts.signUrl ?? `${PUBLIC}${path}`, params) : opts.signature;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers };
  if (signature !== null) headers['x-twilio-signature'] = signature;
  return fetch(h.url + path, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
}

/** POSTs `size` bytes with chunked transfer encoding (no Content-Length: the limit must hold while streaming). */
function postChunked(h: Harness, path: string, size: number, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(h.url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    const chunk = Buffer.alloc(16 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

const tencentReply = (over: Record<string, unknown> = {}) => ({ extend: '', mobile: '13800138000', nationcode: '86', sign: '咖啡小店', text: '退订', time: 1764030000, ...over });
const tencentReport = (over: Record<string, unknown> = {}) => ({
  user_receive_time: '2025-11-25 08:03:04',
  nationcode: '86',
  mobile: '13800138000',
  report_status: 'SUCCESS',
  errmsg: 'DELIVRD',
  description: '用户短信送达成功',
  sid: '2433:123456789012345678',
  ...over,
});
const aliyunUp = (over: Record<string, unknown> = {}) => ({ phone_number: '13800138000', send_time: '2025-11-25 09:15:00', content: '什么时候到货？', sign_name: '咖啡小店', dest_code: '1234', sequence_id: 1234567890, ...over });
const aliyunReport = (over: Record<string, unknown> = {}) => ({
  phone_number: '13800138000',
  send_time: '2025-11-25 09:00:00',
  report_time: '2025-11-25 09:00:05',
  success: true,
  err_code: 'DELIVERED',
  err_msg: '用户接收成功',
  sms_size: '1',
  biz_id: '900001234567890^0',
  out_id: '77',
  ...over,
});
const twilioInbound = (over: Record<string, string> = {}) => ({
  ToCountry: 'US',
  ToState: 'CA',
  SmsMessageSid: 'SM' + 'a'.repeat(32),
  NumMedia: '0',
  ToCity: 'SAN FRANCISCO',
  FromZip: '94105',
  SmsSid: 'SM' + 'a'.repeat(32),
  FromState: 'CA',
  SmsStatus: 'received',
  FromCity: 'SAN FRANCISCO',
  Body: 'STOP',
  FromCountry: 'US',
  To: '+14155550100',
  MessagingServiceSid: 'MG' + '1'.repeat(32),
  ToZip: '94105',
  NumSegments: '1',
  MessageSid: 'SM' + 'a'.repeat(32),
  AccountSid: 'AC' + 'f'.repeat(32),
  From: '+14158675309',
  ApiVersion: '2010-04-01',
  ...over,
});

describe('SMS webhooks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SMS_WEBHOOK_TOKEN: TOKEN, TWILIO_AUTH_TOKEN: TWILIO_TOKEN, SMS_PUBLIC_BASE_URL: PUBLIC } });
  });
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM inbound_event');
  });
  afterAll(() => h.close());

  // ------------------------------------------------------------------------------- Tencent
  describe('Tencent', () => {
    const path = `/webhooks/sms/tencent/${TOKEN}`;

    it('stores a reply under the sha256 of its fields and answers {"result":0,"errmsg":"OK"}', async () => {
      const res = await postJson(h, path, tencentReply());
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.text()).toBe('{"result":0,"errmsg":"OK"}');
      const [ev, ...rest] = await events(h);
      expect(rest).toEqual([]);
      expect(ev).toMatchObject({ channel: 'sms', type: 'sms/tencent/message', status: 'received' });
      expect(ev.dedup_key).toBe(`tencent:${sha256('86|13800138000|1764030000|退订|咖啡小店|')}`);
      expect(ev.payload).toEqual({
        type: 'message',
        channel: 'sms',
        provider: 'tencent',
        providerMessageId: null,
        dedupKey: ev.dedup_key,
        from: { phone: '+8613800138000' },
        to: { signName: '咖啡小店' },
        text: '退订',
        sentAt: '2025-11-25T08:20:00+08:00',
      });
    });

    it('the same reply delivered again is one event; a different time is another', async () => {
      for (let i = 0; i < 3; i++) expect((await postJson(h, path, tencentReply())).status).toBe(200);
      expect(await events(h)).toHaveLength(1);
      await postJson(h, path, tencentReply({ time: 1764030060 }));
      expect(await events(h)).toHaveLength(2);
    });

    it('accepts replies as an array, and an international number with its nationcode', async () => {
      const res = await postJson(h, path, [tencentReply({ text: '好的' }), tencentReply({ nationcode: '1', mobile: '4158675309', text: 'ok', extend: '01' })]);
      expect(res.status).toBe(200);
      const evs = await events(h);
      expect(evs.map((e) => [e.payload.from.phone, e.payload.text, e.payload.to])).toEqual([
        ['+8613800138000', '好的', { signName: '咖啡小店' }],
        ['+14158675309', 'ok', { signName: '咖啡小店', extendCode: '01' }],
      ]);
    });

    it('stores a batch of delivery reports, one event per report, keyed by sid and status', async () => {
      const res = await postJson(h, path, [tencentReport(), tencentReport({ sid: '2433:999', report_status: 'FAIL', errmsg: 'MK:0005', description: '空号' })]);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ result: 0, errmsg: 'OK' });
      const evs = await events(h);
      expect(evs.map((e) => [e.type, e.dedup_key])).toEqual([
        ['sms/tencent/status', 'tencent:status:2433:123456789012345678:SUCCESS'],
        ['sms/tencent/status', 'tencent:status:2433:999:FAIL'],
      ]);
      expect(evs[0].payload).toMatchObject({ type: 'status', provider: 'tencent', providerRef: '2433:123456789012345678', status: 'delivered', code: 'DELIVRD', at: '2025-11-25T08:03:04+08:00' });
      expect(evs[1].payload).toMatchObject({ status: 'failed', code: 'MK:0005', description: '空号' });
      // the same batch again: nothing new
      await postJson(h, path, [tencentReport(), tencentReport({ sid: '2433:999', report_status: 'FAIL', errmsg: 'MK:0005', description: '空号' })]);
      expect(await events(h)).toHaveLength(2);
    });

    it('a wrong path token is 404 and stores nothing', async () => {
      const res = await postJson(h, `/webhooks/sms/tencent/${TOKEN.slice(0, -1)}x`, tencentReply());
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain(TOKEN.slice(0, 10));
      expect((await postJson(h, '/webhooks/sms/tencent/', tencentReply())).status).toBe(404);
      expect((await postJson(h, `/webhooks/sms/tencent/${TOKEN}extra`, tencentReply())).status).toBe(404);
      expect(await events(h)).toEqual([]);
    });

    it.each([
      ['malformed JSON', '{"mobile": "138', /not valid JSON/],
      ['an empty array', '[]', /empty/],
      ['a string', '"hello"', /JSON object/],
      ['an object of neither kind', { hello: 'world' }, /neither a reply .* nor a delivery report/],
      ['a reply without text', { mobile: '13800138000', time: 1764030000 }, /text must be a string/],
      ['a reply with a bad mobile', tencentReply({ mobile: 'abc' }), /mobile must be a phone number/],
      ['a reply with a bad time', tencentReply({ time: 'yesterday' }), /time must be unix seconds/],
      ['a report with an unknown status', [tencentReport({ report_status: 'MAYBE' })], /report_status must be SUCCESS or FAIL/],
      ['a report without sid', [tencentReport({ sid: undefined })], /sid must be a string/],
      ['a batch with one bad element', [tencentReport(), tencentReport({ sid: 42.5, report_status: null })], /item 1: report_status/],
    ])('%s is 400 naming what is wrong, and stores nothing', async (_what, body, message) => {
      const res = await postJson(h, path, body);
      expect(res.status).toBe(400);
      expect(await errorMessage(res)).toMatch(message);
      expect(await events(h)).toEqual([]);
    });

    it('a body over 256 KB is 413 and stores nothing (Content-Length and chunked)', async () => {
      const big = JSON.stringify([tencentReply({ text: 'x'.repeat(256 * 1024) })]);
      expect((await postJson(h, path, big)).status).toBe(413);
      expect(await postChunked(h, path, 300 * 1024)).toBe(413);
      expect(await events(h)).toEqual([]);
      // just under the limit is fine
      const fits = JSON.stringify(tencentReply({ text: '好'.repeat(80_000) }));
      expect(Buffer.byteLength(fits)).toBeLessThan(256 * 1024);
      expect((await postJson(h, path, fits)).status).toBe(200);
    });
  });

  // ------------------------------------------------------------------------------- Aliyun
  describe('Aliyun', () => {
    const path = `/webhooks/sms/aliyun/${TOKEN}`;

    it('stores SmsUp messages keyed by sequence_id + phone and answers {"code":0,"msg":"接收成功"}', async () => {
      const res = await postJson(h, path, [aliyunUp(), aliyunUp({ phone_number: '8613900139000', sequence_id: 'ABC-77', content: 'TD', sign_name: undefined })]);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"code":0,"msg":"接收成功"}');
      const evs = await events(h);
      expect(evs.map((e) => [e.type, e.dedup_key])).toEqual([
        ['sms/aliyun/message', 'aliyun:1234567890:+8613800138000'],
        ['sms/aliyun/message', 'aliyun:ABC-77:+8613900139000'],
      ]);
      expect(evs[0].payload).toMatchObject({
        provider: 'aliyun',
        providerMessageId: '1234567890',
        from: { phone: '+8613800138000' },
        to: { signName: '咖啡小店', extendCode: '1234' },
        text: '什么时候到货？',
        sentAt: '2025-11-25T09:15:00+08:00',
      });
      expect(evs[1].payload).toMatchObject({ from: { phone: '+8613900139000' }, to: { extendCode: '1234' }, text: 'TD' });
    });

    it('the same push delivered twice is one event — also when sequence_id switches between number and string', async () => {
      expect((await postJson(h, path, [aliyunUp()])).status).toBe(200);
      expect((await postJson(h, path, [aliyunUp()])).status).toBe(200);
      expect((await postJson(h, path, [aliyunUp({ sequence_id: '1234567890' })])).status).toBe(200);
      expect(await events(h)).toHaveLength(1);
    });

    it('keeps every digit of a sequence_id too big for a JavaScript number', async () => {
      await postJson(h, path, `[{"phone_number":"13800138000","send_time":"2025-11-25 09:15:00","content":"hi","sequence_id":123456789012345678901}]`);
      const [ev] = await events(h);
      expect(ev.dedup_key).toBe('aliyun:123456789012345678901:+8613800138000');
    });

    it('stores SmsReport delivery reports with our out_id as the reference', async () => {
      const res = await postJson(h, path, [aliyunReport(), aliyunReport({ phone_number: '13900139000', success: false, err_code: 'MK:0001', err_msg: '停机', out_id: '78' })]);
      expect(res.status).toBe(200);
      const evs = await events(h);
      expect(evs.map((e) => e.dedup_key)).toEqual(['aliyun:status:900001234567890^0:+8613800138000:ok', 'aliyun:status:900001234567890^0:+8613900139000:fail:MK:0001']);
      expect(evs[0].payload).toEqual({
        type: 'status',
        channel: 'sms',
        provider: 'aliyun',
        providerRef: '900001234567890^0',
        reference: '77',
        status: 'delivered',
        code: 'DELIVERED',
        description: '用户接收成功',
        at: '2025-11-25T09:00:05+08:00',
        dedupKey: evs[0].dedup_key,
      });
      expect(evs[1].payload).toMatchObject({ reference: '78', status: 'failed', code: 'MK:0001', description: '停机' });
    });

    it('a wrong path token is 404, stores nothing', async () => {
      expect((await postJson(h, `/webhooks/sms/aliyun/${'x'.repeat(TOKEN.length)}`, [aliyunUp()])).status).toBe(404);
      expect(await events(h)).toEqual([]);
    });

    it.each([
      ['malformed JSON', '[{"phone_number":', /not valid JSON/],
      ['an object instead of an array', aliyunUp(), /must be a JSON array/],
      ['an empty array', [], /empty/],
      ['an element of neither kind', [{ phone_number: '13800138000' }], /neither an uplink message .* nor a delivery report/],
      ['an uplink without sequence_id', [aliyunUp({ sequence_id: undefined, content: 'x' })], /sequence_id/],
      ['an uplink with a bad phone', [aliyunUp({ phone_number: '1381111****' })], /phone_number must be a phone number/],
      ['a report with success "maybe"', [aliyunReport({ success: 'maybe' })], /success must be true or false/],
      ['a batch with one bad element', [aliyunUp(), aliyunReport({ biz_id: '' })], /item 1: biz_id/],
    ])('%s is 400 naming what is wrong, and stores nothing', async (_what, body, message) => {
      const res = await postJson(h, path, body);
      expect(res.status).toBe(400);
      expect(await errorMessage(res)).toMatch(message);
      expect(await events(h)).toEqual([]);
    });

    it('a body over 256 KB is 413 and stores nothing', async () => {
      expect((await postJson(h, path, [aliyunUp({ content: '好'.repeat(90_000) })])).status).toBe(413);
      expect(await postChunked(h, path, 257 * 1024)).toBe(413);
      expect(await events(h)).toEqual([]);
    });
  });

  // ------------------------------------------------------------------------------- Twilio
  describe('Twilio', () => {
    it('stores a signed inbound SMS under its MessageSid and answers <Response/> as text/xml', async () => {
      const res = await postTwilio(h, twilioInbound());
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
      expect(await res.text()).toBe('<Response/>');
      const [ev, ...rest] = await events(h);
      expect(rest).toEqual([]);
      expect(ev).toMatchObject({ type: 'sms/twilio/message', dedup_key: `twilio:SM${'a'.repeat(32)}` });
      expect(ev.payload).toEqual({
        type: 'message',
        channel: 'sms',
        provider: 'twilio',
        providerMessageId: `SM${'a'.repeat(32)}`,
        dedupKey: `twilio:SM${'a'.repeat(32)}`,
        from: { phone: '+14158675309' },
        to: { phone: '+14155550100' },
        text: 'STOP',
        sentAt: null,
      });
      // Twilio retrying the same webhook: one event
      expect((await postTwilio(h, twilioInbound())).status).toBe(200);
      expect(await events(h)).toHaveLength(1);
    });

    it('keeps media metadata of an MMS', async () => {
      const res = await postTwilio(h, twilioInbound({ MessageSid: 'MM' + 'b'.repeat(32), Body: '', NumMedia: '1', MediaContentType0: 'image/jpeg', MediaUrl0: 'https://api.twilio.com/media/1' }));
      expect(res.status).toBe(200);
      const [ev] = await events(h);
      expect(ev.payload.attachments).toEqual([{ contentType: 'image/jpeg', size: 0 }]);
      expect(ev.payload.text).toBe('');
    });

    it('accepts a signature made over the URL with the default port', async () => {
      const res = await postTwilio(h, twilioInbound(), { signUrl: `https://tp.example.com:443/webhooks/sms/twilio` });
      expect(res.status).toBe(200);
      expect(await events(h)).toHaveLength(1);
    });

    it('stores final status callbacks with our reference from the signed URL; interim ones are acknowledged and skipped', async () => {
      const sid = twilioSid('SM');
      const status = (s: string, extra: Record<string, string> = {}) => ({ AccountSid: 'AC' + 'f'.repeat(32), From: '+14155550100', To: '+14158675309', MessageSid: sid, SmsSid: sid, MessageStatus: s, SmsStatus: s, ApiVersion: '2010-04-01', ...extra });
      const path = '/webhooks/sms/twilio?ref=77';
      for (const s of ['queued', 'sending']) {
        const res = await postTwilio(h, status(s), { path });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('<Response/>');
      }
      expect(await events(h)).toEqual([]);
      expect((await postTwilio(h, status('sent'), { path })).status).toBe(200);
      expect((await postTwilio(h, status('undelivered', { ErrorCode: '30003' }), { path })).status).toBe(200);
      const evs = await events(h);
      expect(evs.map((e) => e.dedup_key)).toEqual([`twilio:status:${sid}:sent`, `twilio:status:${sid}:undelivered`]);
      expect(evs[1].payload).toMatchObject({ type: 'status', provider: 'twilio', providerRef: sid, reference: '77', status: 'failed', code: '30003' });
    });

    it.each([
      ['missing', null],
      ['wrong', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='],
      ['not base64', 'not a signature'],
    ])('a %s signature is 403 and stores nothing', async (_what, signature) => {
      const res = await postTwilio(h, twilioInbound(), { signature });
      expect(res.status).toBe(403);
      expect(await events(h)).toEqual([]);
    });

    it('a signature over other params, another URL or another token is 403', async () => {
      const params = twilioInbound();
      const forged = { ...params, Body: 'START' };
      const sig = signTwilioRequest(TWILIO_TOKEN, TWILIO_URL, params);
      expect((await postTwilio(h, forged, { signature: sig })).status).toBe(403);
      expect((await postTwilio(h, params, { signUrl: 'https://evil.example/webhooks/sms/twilio' })).status).toBe(403);
      expect((await postTwilio(h, params, { signUrl: TWILIO_URL.replace('https:', 'http:') })).status).toBe(403);
      expect((await postTwilio(h, params, { signature: signTwilioRequest('another-token', TWILIO_URL, params) })).status).toBe(403);
      // a param Twilio added and we do not know still counts: dropping it breaks the signature
      const withExtra = { ...params, OptOutType: 'STOP' };
      expect((await postTwilio(h, params, { signature: signTwilioRequest(TWILIO_TOKEN, TWILIO_URL, withExtra) })).status).toBe(403);
      expect(await events(h)).toEqual([]);
    });

    it('the newer Webhook Rules signing is refused, not half-checked', async () => {
      const res = await postTwilio(h, twilioInbound(), { headers: { 'x-twilio-webhooks-signature-settings': 'v1' } });
      expect(res.status).toBe(403);
      expect(await events(h)).toEqual([]);
    });

    it('a malformed form, a JSON body or a signed body of the wrong shape is 400 and stores nothing', async () => {
      const bad = await fetch(`${h.url}/webhooks/sms/twilio`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' },
        body: 'MessageSid=SM%ZZ&Body=%E4%B8',
      });
      expect(bad.status).toBe(400);
      expect(await errorMessage(bad)).toMatch(/malformed form encoding/);
      const json = await fetch(`${h.url}/webhooks/sms/twilio`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-twilio-signature': 'x' }, body: '{}' });
      expect(json.status).toBe(400);
      const noSid = { ...twilioInbound() } as Record<string, string>;
      delete noSid.MessageSid;
      delete noSid.SmsSid;
      delete noSid.SmsMessageSid;
      const res = await postTwilio(h, noSid);
      expect(res.status).toBe(400);
      expect(await errorMessage(res)).toMatch(/MessageSid/);
      const unknownStatus = await postTwilio(h, { MessageSid: twilioSid('SM'), MessageStatus: 'teleported' });
      expect(unknownStatus.status).toBe(400);
      expect(await events(h)).toEqual([]);
    });

    it('a body over 256 KB is 413 and stores nothing', async () => {
      const res = await postTwilio(h, twilioInbound({ Body: 'x'.repeat(257 * 1024) }));
      expect(res.status).toBe(413);
      expect(await events(h)).toEqual([]);
    });
  });

  it('answers 503 and stores nothing when the inbox cannot take the events (the provider will retry)', async () => {
    await h.app.db.query('RENAME TABLE inbound_event TO inbound_event_away');
    try {
      expect((await postJson(h, `/webhooks/sms/tencent/${TOKEN}`, tencentReply())).status).toBe(503);
      expect((await postJson(h, `/webhooks/sms/aliyun/${TOKEN}`, [aliyunUp()])).status).toBe(503);
      expect((await postTwilio(h, twilioInbound())).status).toBe(503);
    } finally {
      await h.app.db.query('RENAME TABLE inbound_event_away TO inbound_event');
    }
    expect(await events(h)).toEqual([]);
    // and once the inbox is back, the retry is taken
    expect((await postJson(h, `/webhooks/sms/tencent/${TOKEN}`, tencentReply())).status).toBe(200);
    expect(await events(h)).toHaveLength(1);
  });
});

describe('SMS webhooks, switched off or behind a proxy', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('without SMS_WEBHOOK_TOKEN and TWILIO_AUTH_TOKEN every SMS webhook is 404', async () => {
    h = await startHarness();
    expect((await postJson(h, '/webhooks/sms/tencent/anything-at-all-0123456789', tencentReply())).status).toBe(404);
    expect((await postJson(h, '/webhooks/sms/aliyun/anything-at-all-0123456789', [aliyunUp()])).status).toBe(404);
    expect((await postTwilio(h, twilioInbound())).status).toBe(404);
    expect(await events(h)).toEqual([]);
  });

  it('without a configured public URL, the Twilio URL is rebuilt from X-Forwarded-Proto/Host', async () => {
    h = await startHarness({ env: { TWILIO_AUTH_TOKEN: TWILIO_TOKEN } });
    const params = twilioInbound();
    const signature = signTwilioRequest(TWILIO_TOKEN, 'https://edge.example.cn/webhooks/sms/twilio', params);
    const ok = await postTwilio(h, params, { signature, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'edge.example.cn' } });
    expect(ok.status).toBe(200);
    const wrongHost = await postTwilio(h, params, { signature, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'other.example.cn' } });
    expect(wrongHost.status).toBe(403);
    expect(await events(h)).toHaveLength(1);
  });
});
