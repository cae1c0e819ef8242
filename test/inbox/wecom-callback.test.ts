// /webhooks/wecom over HTTP: URL verification, the official POST vector, and every bad input —
// each answered with the right status and leaving no row and no job behind.
import { encryptMessage, sealCallback, signature } from '../../channels/wecom/crypto';
import { startHarness, WECOM, wecomEventXml, nowSeconds, type Harness } from '../support/harness';
import { TEST_DATABASE_URL } from '../support/env';
import { startTcpProxy } from '../support/tcp-proxy';
import { readVectors } from '../support/vectors';

// the published vectors, copied into test/fixtures/vectors from ../shared/vectors
const vectors = readVectors('wecom.json').vectors;
const official = vectors[0];

async function stored(h: Harness) {
  const [row] = await h.app.db.query('SELECT COUNT(*) AS n FROM inbound_event');
  const jobs = await h.app.queues.inbound.getJobCounts();
  return { events: Number(row.n), jobs: jobs.waiting + jobs.active + jobs.delayed + jobs.completed + jobs.failed };
}

const post = (h: Harness, query: Record<string, string>, body: string | Buffer, contentType = 'text/xml') =>
  fetch(`${h.url}/webhooks/wecom?${new URLSearchParams(query)}`, { method: 'POST', body, headers: { 'content-type': contentType } });

const textMessage = (msgId: string) =>
  wecomEventXml({ FromUserName: 'lisi', CreateTime: nowSeconds(), MsgType: 'text', Content: '你好 👋', MsgId: msgId, AgentID: 1000002 });

describe('official WeCom vector over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { WECOM_CORP_ID: official.receiveId, WECOM_TOKEN: official.token, WECOM_ENCODING_AES_KEY: official.encodingAESKey },
      now: () => new Date(Number(official.post.timestamp) * 1000),
    });
  });
  afterAll(() => h.close());

  it('GET answers the decrypted echostr, body only', async () => {
    const u = official.urlVerify;
    const res = await fetch(`${h.url}/webhooks/wecom?${new URLSearchParams({ msg_signature: u.msg_signature, timestamp: String(Number(official.post.timestamp) - 1), nonce: u.nonce, echostr: u.echostr })}`);
    // the signature covers the timestamp: the vector's own timestamp must be used
    expect(res.status).toBe(401);
    const ok = await fetch(`${h.url}/webhooks/wecom?${new URLSearchParams({ msg_signature: u.msg_signature, timestamp: u.timestamp, nonce: u.nonce, echostr: u.echostr })}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(u.plaintext);
  });

  it('GET tolerates a raw + in echostr that a query parser turns into a space', async () => {
    const u = official.urlVerify;
    const raw = `msg_signature=${u.msg_signature}&timestamp=${u.timestamp}&nonce=${u.nonce}&echostr=${u.echostr.replace(/\//g, '%2F').replace(/=/g, '%3D')}`;
    expect(raw).toContain('+');
    const res = await fetch(`${h.url}/webhooks/wecom?${raw}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(u.plaintext);
  });

  it('POST stores the official text message under its 64-bit MsgId, answered with an empty 200', async () => {
    const p = official.post;
    const body = `<xml><ToUserName><![CDATA[${official.receiveId}]]></ToUserName><Encrypt><![CDATA[${p.encrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`;
    const res = await post(h, { msg_signature: p.msg_signature, timestamp: p.timestamp, nonce: p.nonce }, body, 'application/octet-stream');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const [row] = await h.app.db.query('SELECT dedup_key, type, status, payload FROM inbound_event');
    expect(row.dedup_key).toBe('wecom:msg:4561255354251345929');
    expect(row.type).toBe('text');
    const payload = typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload;
    expect(payload).toMatchObject(p.expect);
  });
});

describe('bad input on /webhooks/wecom', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  const sealed = (xml: string, ts = String(nowSeconds())) => sealCallback(WECOM, xml, ts, '12345');

  it('wrong signature → 401, nothing stored', async () => {
    const s = sealed(textMessage('1'));
    const res = await post(h, { ...s.query, msg_signature: 'f'.repeat(40) }, s.body);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('bad_signature');
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('missing msg_signature → 400', async () => {
    const s = sealed(textMessage('1'));
    const res = await post(h, { timestamp: s.query.timestamp, nonce: s.query.nonce }, s.body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/msg_signature/);
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('timestamp outside the replay window → 401, nothing stored', async () => {
    const s = sealed(textMessage('2'), String(nowSeconds() - 301));
    const res = await post(h, s.query, s.body);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('stale_timestamp');
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('malformed outer XML → 400, nothing stored', async () => {
    const res = await post(h, { msg_signature: 'x', timestamp: String(nowSeconds()), nonce: '1' }, '<xml><Encrypt>abc</Encrypt>');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('bad_xml');
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('a DTD / entity declaration → 400 (XXE refused), nothing stored', async () => {
    const s = sealed(textMessage('3'));
    const body = `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>${s.body}`;
    const res = await post(h, s.query, body);
    expect(res.status).toBe(400);
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('a correctly signed ciphertext that does not decrypt → 400, nothing stored', async () => {
    const garbage = Buffer.alloc(64, 9).toString('base64');
    const ts = String(nowSeconds());
    const res = await post(h, { msg_signature: signature(WECOM.token, ts, '1', garbage), timestamp: ts, nonce: '1' }, `<xml><Encrypt><![CDATA[${garbage}]]></Encrypt></xml>`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('undecryptable');
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('a message encrypted for another corp (receive id mismatch) → 401, nothing stored', async () => {
    const encrypt = encryptMessage(WECOM.encodingAesKey, textMessage('4'), 'wwsomeoneelse');
    const ts = String(nowSeconds());
    const res = await post(h, { msg_signature: signature(WECOM.token, ts, '1', encrypt), timestamp: ts, nonce: '1' }, `<xml><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('receive_id_mismatch');
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('decrypted but malformed inner XML → 400, nothing stored', async () => {
    const s = sealed('<xml><MsgType>text</MsgType><Content>unclosed</xml>');
    const res = await post(h, s.query, s.body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/decrypted message/);
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('body over 1 MB → 413, nothing stored', async () => {
    const s = sealed(textMessage('5'));
    const big = s.body.replace('</xml>', `<Pad>${'x'.repeat(1024 * 1024)}</Pad></xml>`);
    const res = await post(h, s.query, big);
    expect(res.status).toBe(413);
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('a streamed (chunked) body over 1 MB → 413 without leaving the client hanging', async () => {
    const s = sealed(textMessage('5b'));
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${h.url}/webhooks/wecom?${new URLSearchParams(s.query)}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/xml' },
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await stored(h)).toEqual({ events: 0, jobs: 0 });
  });

  it('the replay check can be switched off with WECOM_REPLAY_WINDOW_SECONDS=0', async () => {
    await h.close();
    h = await startHarness({ env: { WECOM_REPLAY_WINDOW_SECONDS: '0' } });
    const s = sealed(textMessage('6'), '1409659813');
    expect((await post(h, s.query, s.body)).status).toBe(200);
    expect((await stored(h)).events).toBe(1);
  });

  it('accepts the body whatever its Content-Type, and de-duplicates repeats by MsgId', async () => {
    const s = sealed(textMessage('9007199254740993'));
    for (const ct of ['text/xml', 'application/json', 'application/x-www-form-urlencoded']) {
      expect((await post(h, s.query, s.body, ct)).status).toBe(200);
    }
    const rows = await h.app.db.query('SELECT dedup_key FROM inbound_event');
    expect(rows).toEqual([{ dedup_key: 'wecom:msg:9007199254740993' }]);
  });

  it('two distinct events in the same second from "sys" are two events (no FromUserName+CreateTime merging)', async () => {
    const t = nowSeconds();
    const ev = (ext: string) =>
      wecomEventXml({ FromUserName: 'sys', CreateTime: t, MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: ext });
    expect((await h.sendCallback(ev('wmA'))).status).toBe(200);
    expect((await h.sendCallback(ev('wmB'))).status).toBe(200);
    expect((await stored(h)).events).toBe(2);
  });
});

describe('when MySQL is out of reach', () => {
  it('answers 503 so WeCom retries, and stores the retry once MySQL is back', async () => {
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(TEST_DATABASE_URL).port || 3306));
    const url = new URL(TEST_DATABASE_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    const h = await startHarness({ databaseUrl: url.toString() });
    try {
      await proxy.cut();
      const s = sealCallback(WECOM, textMessage('777'), String(nowSeconds()), '1');
      const res = await post(h, s.query, s.body);
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error.code).toBe('store_unavailable');
      await proxy.restore();
      const retry = await post(h, s.query, s.body);
      expect(retry.status).toBe(200);
      const rows = await h.app.db.query('SELECT dedup_key FROM inbound_event');
      expect(rows).toEqual([{ dedup_key: 'wecom:msg:777' }]);
    } finally {
      await h.close();
      await proxy.close();
    }
  });
});
