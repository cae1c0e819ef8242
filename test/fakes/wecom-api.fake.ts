// A local stand-in for qyapi.weixin.qq.com that answers as the documented API does: gettoken
// per secret, 40001 for a bad secret, 42001/40014 for expired/unknown tokens, errcode envelopes,
// externalcontact/get (84061 for an unknown contact), get_corp_tag_list and kf/sync_msg with cursors.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CorpTagGroup, ExternalContact, FollowUser, KfMessage } from '../../channels/wecom/api';

export interface FakeWeCom {
  base: string;
  corpId: string;
  secrets: Set<string>;
  contacts: Map<string, { external_contact: ExternalContact; follow_user: FollowUser[] }>;
  tagGroups: CorpTagGroup[];
  kfMessages: Map<string, KfMessage[]>;
  /** the most kf/sync_msg returns per call whatever `limit` asks (WeCom may return fewer, with has_more=1) */
  kfPageSize: number;
  /** every request, in order: path plus parsed query/body */
  calls: { path: string; query: Record<string, string>; body: unknown }[];
  tokensIssued: number;
  /** expire every token issued so far (the next call with one gets 42001) */
  expireTokens(): void;
  /** answer the next `n` calls to `path` with this envelope (e.g. { errcode: -1 }) */
  failNext(path: string, envelope: Record<string, unknown>, n?: number): void;
  /** answer the next `n` calls to `path` (gettoken included) with a raw HTTP status and body, as a broken proxy would */
  failHttpNext(path: string, status: number, body: string, n?: number): void;
  /** hold calls to `path` until release() */
  hold(path: string): { release(): void };
  close(): Promise<void>;
}

export async function startFakeWeCom(corpId = 'wwcorp0001', secrets = ['contact-secret', 'agent-secret']): Promise<FakeWeCom> {
  const valid = new Set<string>();
  const expired = new Set<string>();
  const failures = new Map<string, { envelope: Record<string, unknown>; n: number }>();
  const httpFailures = new Map<string, { status: number; body: string; n: number }>();
  const holds = new Map<string, Promise<void>>();
  let tokenSeq = 0;

  const fake: FakeWeCom = {
    base: '',
    corpId,
    secrets: new Set(secrets),
    contacts: new Map(),
    tagGroups: [],
    kfMessages: new Map(),
    kfPageSize: 1000,
    calls: [],
    tokensIssued: 0,
    expireTokens() {
      for (const t of valid) expired.add(t);
      valid.clear();
    },
    failNext(path, envelope, n = 1) {
      failures.set(path, { envelope, n });
    },
    failHttpNext(path, status, body, n = 1) {
      httpFailures.set(path, { status, body, n });
    },
    hold(path) {
      let release!: () => void;
      holds.set(path, new Promise<void>((r) => (release = r)));
      return {
        release: () => {
          holds.delete(path);
          release();
        },
      };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/cgi-bin\//, '');
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown> = {};
    if (chunks.length) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send({ errcode: 47001, errmsg: 'data format error' });
      }
    }
    fake.calls.push({ path, query, body });
    function send(obj: Record<string, unknown>) {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ errcode: 0, errmsg: 'ok', ...obj }));
    }
    const held = holds.get(path);
    if (held) await held;
    const httpFailure = httpFailures.get(path);
    if (httpFailure && httpFailure.n > 0) {
      httpFailure.n--;
      res.writeHead(httpFailure.status, { 'content-type': 'text/html' });
      return res.end(httpFailure.body);
    }

    if (path === 'gettoken') {
      if (query.corpid !== corpId) return send({ errcode: 40013, errmsg: 'invalid corpid' });
      if (!fake.secrets.has(query.corpsecret)) return send({ errcode: 40001, errmsg: 'invalid credential' });
      const token = `tok-${++tokenSeq}-${query.corpsecret.slice(0, 4)}`;
      valid.add(token);
      fake.tokensIssued++;
      return send({ access_token: token, expires_in: 7200 });
    }
    const token = query.access_token;
    if (!token) return send({ errcode: 41001, errmsg: 'access_token missing' });
    if (expired.has(token)) return send({ errcode: 42001, errmsg: 'access_token expired' });
    if (!valid.has(token)) return send({ errcode: 40014, errmsg: 'invalid access_token' });
    const failure = failures.get(path);
    if (failure && failure.n > 0) {
      failure.n--;
      return send(failure.envelope);
    }

    switch (path) {
      case 'externalcontact/get': {
        const c = fake.contacts.get(query.external_userid);
        if (!c) return send({ errcode: 84061, errmsg: 'not external contact' });
        return send({ external_contact: c.external_contact, follow_user: c.follow_user });
      }
      case 'externalcontact/get_corp_tag_list': {
        const tagIds = (body.tag_id as string[] | undefined) ?? [];
        const groupIds = (body.group_id as string[] | undefined) ?? [];
        const groups = fake.tagGroups
          .filter((g) => !groupIds.length || groupIds.includes(g.group_id))
          .map((g) => ({ ...g, tag: g.tag.filter((t) => !tagIds.length || tagIds.includes(t.id)) }))
          .filter((g) => g.tag.length > 0);
        return send({ tag_group: groups });
      }
      case 'kf/sync_msg': {
        const openKfId = body.open_kfid as string;
        if (!openKfId) return send({ errcode: 95000, errmsg: 'invalid open_kfid' });
        const all = fake.kfMessages.get(openKfId) ?? [];
        const start = body.cursor ? Number(String(body.cursor).replace('c', '')) : 0;
        const limit = Math.min(Number(body.limit ?? 1000), 1000, fake.kfPageSize);
        const page = all.slice(start, start + limit);
        const next = start + page.length;
        return send({ next_cursor: `c${next}`, has_more: next < all.length ? 1 : 0, msg_list: page });
      }
      default:
        res.writeHead(404);
        res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
