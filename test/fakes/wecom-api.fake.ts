// A local stand-in for qyapi.weixin.qq.com that answers as the documented API does: gettoken
// per secret, 40001 for a bad secret, 42001/40014 for expired/unknown tokens, errcode envelopes,
// externalcontact/get (84061 for an unknown contact), get_corp_tag_list and kf/sync_msg with cursors;
// outbound: externalcontact/add_msg_template (a task the sender confirms: `confirmTask`), get_groupmsg_send_result,
// send_welcome_msg (a WelcomeCode works once within 20 s: 41051 used, 41050 expired) and message/send text
// cards to members, each only with the secret WeCom wants for it (48002 otherwise).
import type http from 'node:http';
import type { CorpTagGroup, ExternalContact, FollowUser, KfMessage } from '../../channels/wecom/api';
import { FakeServer, type FakeRequest } from './fake-server';

/** One add_msg_template task, as WeCom keeps it. */
export interface FakeTask {
  msgid: string;
  sender: string;
  externalUserIds: string[];
  text: string | null;
  attachments: unknown[];
  createdAt: number;
  /** per customer: 0 not sent yet, 1 sent, 2 not a contact, 3 already got a mass message that day */
  results: Map<string, { status: 0 | 1 | 2 | 3; sendTime?: number }>;
}

/** A scripted answer for the next calls to one API path. */
type WeComScripted = { path: string; envelope: Record<string, unknown> } | { path: string; status: number; body: string };

/** APIs that only the 客户联系 secret may call, and those only our app's secret may */
const CONTACT_ONLY = new Set(['externalcontact/add_msg_template', 'externalcontact/get_groupmsg_send_result', 'externalcontact/send_welcome_msg']);
const AGENT_ONLY = new Set(['message/send']);
const CONTACT_SECRET = 'contact-secret';
const AGENT_SECRET = 'agent-secret';

const chinaDay = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);

/** The WeCom server API on 127.0.0.1 (start it with `startFakeWeCom`). */
export class FakeWeCom extends FakeServer<WeComScripted> {
  readonly corpId: string;
  readonly secrets: Set<string>;
  readonly contacts = new Map<string, { external_contact: ExternalContact; follow_user: FollowUser[] }>();
  tagGroups: CorpTagGroup[] = [];
  readonly kfMessages = new Map<string, KfMessage[]>();
  /** the most kf/sync_msg returns per call whatever `limit` asks (WeCom may return fewer, with has_more=1) */
  kfPageSize = 1000;
  /** every request, in order: path plus parsed query/body */
  readonly calls: { path: string; query: Record<string, string>; body: unknown; at: number }[] = [];
  tokensIssued = 0;
  /** the app's AgentId message/send must name */
  agentId = '1000002';
  /** add_msg_template tasks by msgid */
  readonly tasks = new Map<string, FakeTask>();
  /** message/send calls that were accepted */
  readonly appMessages: { touser: string[]; msgtype: string; agentid: number; textcard?: { title: string; description: string; url: string; btntxt?: string } }[] = [];
  /** send_welcome_msg calls that were accepted */
  readonly welcomes: { code: string; text: string | null; at: number }[] = [];
  /** the fake's clock (ms) for welcome-code expiry; tests may move it */
  clock: () => number = () => Date.now();

  private readonly valid = new Set<string>();
  private readonly expired = new Set<string>();
  private readonly holds = new Map<string, Promise<void>>();
  private tokenSeq = 0;
  private msgSeq = 0;
  private codeSeq = 0;
  /** which secret each token was issued for */
  private readonly tokenSecret = new Map<string, string>();
  private readonly welcomeCodes = new Map<string, { issuedAt: number; used: boolean }>();
  /** customer → the China-calendar days they received a mass message */
  private readonly massDays = new Map<string, Set<string>>();

  constructor(corpId = 'wwcorp0001', secrets = [CONTACT_SECRET, AGENT_SECRET]) {
    super();
    this.corpId = corpId;
    this.secrets = new Set(secrets);
  }

  /** Touchpoint calling this fake for the WeCom API: corp id, the contact and app secrets, the app's AgentId and the API base. */
  env(): Record<string, string> {
    return { WECOM_CORP_ID: this.corpId, WECOM_CONTACT_SECRET: CONTACT_SECRET, WECOM_AGENT_ID: this.agentId, WECOM_AGENT_SECRET: AGENT_SECRET, WECOM_API_BASE: this.base };
  }

  /** expire every token issued so far (the next call with one gets 42001) */
  expireTokens(): void {
    for (const t of this.valid) this.expired.add(t);
    this.valid.clear();
  }

  /** answer the next `n` calls to `path` with this envelope (e.g. { errcode: -1 }) */
  failNext(path: string, envelope: Record<string, unknown>, n = 1): void {
    this.enqueue({ path, envelope }, n);
  }

  /** answer the next `n` calls to `path` (gettoken included) with a raw HTTP status and body, as a broken proxy would */
  failHttpNext(path: string, status: number, body: string, n = 1): void {
    this.enqueue({ path, status, body }, n);
  }

  /** hold calls to `path` until release() */
  hold(path: string): { release(): void } {
    let release!: () => void;
    this.holds.set(path, new Promise<void>((r) => (release = r)));
    return {
      release: () => {
        this.holds.delete(path);
        release();
      },
    };
  }

  /** the sender confirms the task in WeCom: each customer gets it (status 1) unless they already got a mass message that day (3), or `statuses` says otherwise */
  confirmTask(msgid: string, statuses: Record<string, 0 | 1 | 2 | 3> = {}): void {
    const task = this.tasks.get(msgid);
    if (!task) throw new Error(`no task ${msgid}`);
    const now = this.clock();
    for (const ext of task.externalUserIds) {
      const r = task.results.get(ext)!;
      if (r.status !== 0) continue;
      const days = this.massDays.get(ext) ?? new Set<string>();
      const status = statuses[ext] ?? (days.has(chinaDay(now)) ? 3 : 1);
      task.results.set(ext, status === 1 ? { status, sendTime: Math.floor(now / 1000) } : { status });
      if (status === 1) this.massDays.set(ext, days.add(chinaDay(now)));
    }
  }

  /** a WelcomeCode as an add_external_contact event carries it (valid 20 s from now, once) */
  issueWelcomeCode(code?: string): string {
    const c = code ?? `WELCOME${++this.codeSeq}${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
    this.welcomeCodes.set(c, { issuedAt: this.clock(), used: false });
    return c;
  }

  protected async handle(req: FakeRequest, res: http.ServerResponse): Promise<void> {
    const path = req.path.replace(/^\/cgi-bin\//, '');
    const query = req.query;
    const send = (obj: Record<string, unknown>) => this.sendJson(res, 200, { errcode: 0, errmsg: 'ok', ...obj }, 'application/json; charset=UTF-8');
    let body: Record<string, unknown> = {};
    if (req.body.length) {
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return send({ errcode: 47001, errmsg: 'data format error' });
      }
    }
    this.calls.push({ path, query, body, at: req.at });
    const held = this.holds.get(path);
    if (held) await held;
    const httpFailure = this.nextScript((s) => s.path === path && 'status' in s);
    if (httpFailure && 'status' in httpFailure) return this.send(res, httpFailure.status, 'text/html', httpFailure.body);

    if (path === 'gettoken') {
      if (query.corpid !== this.corpId) return send({ errcode: 40013, errmsg: 'invalid corpid' });
      if (!this.secrets.has(query.corpsecret)) return send({ errcode: 40001, errmsg: 'invalid credential' });
      const token = `tok-${++this.tokenSeq}-${query.corpsecret.slice(0, 4)}`;
      this.valid.add(token);
      this.tokenSecret.set(token, query.corpsecret);
      this.tokensIssued++;
      return send({ access_token: token, expires_in: 7200 });
    }
    const token = query.access_token;
    if (!token) return send({ errcode: 41001, errmsg: 'access_token missing' });
    if (this.expired.has(token)) return send({ errcode: 42001, errmsg: 'access_token expired' });
    if (!this.valid.has(token)) return send({ errcode: 40014, errmsg: 'invalid access_token' });
    const failure = this.nextScript((s) => s.path === path && 'envelope' in s);
    if (failure && 'envelope' in failure) return send(failure.envelope);
    const secret = this.tokenSecret.get(token) ?? '';
    if ((CONTACT_ONLY.has(path) && secret !== CONTACT_SECRET) || (AGENT_ONLY.has(path) && secret !== AGENT_SECRET)) {
      return send({ errcode: 48002, errmsg: 'api forbidden' });
    }

    switch (path) {
      case 'externalcontact/get': {
        const c = this.contacts.get(query.external_userid);
        if (!c) return send({ errcode: 84061, errmsg: 'not external contact' });
        return send({ external_contact: c.external_contact, follow_user: c.follow_user });
      }
      case 'externalcontact/get_corp_tag_list': {
        const tagIds = (body.tag_id as string[] | undefined) ?? [];
        const groupIds = (body.group_id as string[] | undefined) ?? [];
        const groups = this.tagGroups
          .filter((g) => !groupIds.length || groupIds.includes(g.group_id))
          .map((g) => ({ ...g, tag: g.tag.filter((t) => !tagIds.length || tagIds.includes(t.id)) }))
          .filter((g) => g.tag.length > 0);
        return send({ tag_group: groups });
      }
      case 'kf/sync_msg': {
        const openKfId = body.open_kfid as string;
        if (!openKfId) return send({ errcode: 95000, errmsg: 'invalid open_kfid' });
        const all = this.kfMessages.get(openKfId) ?? [];
        const start = body.cursor ? Number(String(body.cursor).replace('c', '')) : 0;
        const limit = Math.min(Number(body.limit ?? 1000), 1000, this.kfPageSize);
        const page = all.slice(start, start + limit);
        const next = start + page.length;
        return send({ next_cursor: `c${next}`, has_more: next < all.length ? 1 : 0, msg_list: page });
      }
      case 'externalcontact/add_msg_template': {
        const sender = body.sender as string | undefined;
        const ext = body.external_userid as unknown;
        const text = (body.text as { content?: string } | undefined)?.content ?? null;
        const attachments = (body.attachments as unknown[] | undefined) ?? [];
        if ((body.chat_type ?? 'single') !== 'single') return send({ errcode: 40058, errmsg: 'only single chats here' });
        if (!sender) return send({ errcode: 40003, errmsg: 'invalid userid' });
        if (!Array.isArray(ext) || ext.length === 0 || ext.length > 10_000) return send({ errcode: 40058, errmsg: 'invalid external_userid' });
        if (!text && !attachments.length) return send({ errcode: 40058, errmsg: 'text or attachments required' });
        if (text !== null && Buffer.byteLength(text) > 4000) return send({ errcode: 40058, errmsg: 'text too long' });
        // only customers who still have the sender as a contact can get the sender's mass message
        const failList = ext.filter((e: string) => !this.contacts.get(e)?.follow_user.some((f) => f.userid === sender));
        const ok = ext.filter((e: string) => !failList.includes(e));
        const msgid = `msgGAAAA${++this.msgSeq}`;
        if (ok.length) {
          this.tasks.set(msgid, { msgid, sender, externalUserIds: ok, text, attachments, createdAt: this.clock(), results: new Map(ok.map((e: string) => [e, { status: 0 as const }])) });
        }
        return send({ fail_list: failList, msgid });
      }
      case 'externalcontact/get_groupmsg_send_result': {
        const task = this.tasks.get(String(body.msgid ?? ''));
        if (!task) return send({ errcode: 40058, errmsg: 'invalid msgid' });
        const rows = task.sender === body.userid ? [...task.results.entries()] : [];
        const start = body.cursor ? Number(body.cursor) : 0;
        const limit = Math.min(Number(body.limit ?? 500), 1000);
        const page = rows.slice(start, start + limit);
        const next = start + page.length < rows.length ? String(start + page.length) : '';
        return send({
          send_list: page.map(([external_userid, r]) => ({ external_userid, userid: task.sender, status: r.status, ...(r.sendTime ? { send_time: r.sendTime } : {}) })),
          next_cursor: next,
        });
      }
      case 'externalcontact/send_welcome_msg': {
        const code = String(body.welcome_code ?? '');
        const entry = this.welcomeCodes.get(code);
        if (!entry || entry.used) return send({ errcode: 41051, errmsg: 'externalcontact welcome code already used' });
        if (this.clock() - entry.issuedAt > 20_000) return send({ errcode: 41050, errmsg: 'externalcontact welcome code expired' });
        const text = (body.text as { content?: string } | undefined)?.content ?? null;
        if (text !== null && Buffer.byteLength(text) > 4000) return send({ errcode: 40058, errmsg: 'text too long' });
        entry.used = true;
        this.welcomes.push({ code, text, at: this.clock() });
        return send({});
      }
      case 'message/send': {
        if (String(body.agentid) !== this.agentId) return send({ errcode: 40056, errmsg: 'invalid agentid' });
        const touser = String(body.touser ?? '').split('|').filter(Boolean);
        if (!touser.length) return send({ errcode: 40003, errmsg: 'invalid userid' });
        const card = body.textcard as { title?: string; description?: string; url?: string; btntxt?: string } | undefined;
        if (body.msgtype === 'textcard' && (!card?.title || !card.description || !card.url)) return send({ errcode: 41016, errmsg: 'missing title, description or url' });
        this.appMessages.push({ touser, msgtype: String(body.msgtype), agentid: Number(body.agentid), textcard: card as { title: string; description: string; url: string } | undefined });
        return send({ invaliduser: '', invalidparty: '', invalidtag: '', msgid: `app${++this.msgSeq}` });
      }
      default:
        this.send(res, 404, 'text/plain', 'not found');
    }
  }
}

export function startFakeWeCom(corpId = 'wwcorp0001', secrets = [CONTACT_SECRET, AGENT_SECRET]): Promise<FakeWeCom> {
  return new FakeWeCom(corpId, secrets).listen();
}
