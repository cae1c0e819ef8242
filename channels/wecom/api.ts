// The WeCom server API client: one access token per (corp, secret), cached in Redis and shared by
// every process, refreshed by one process at a time, refreshed and replayed once on a token error.
import { createHash, randomUUID } from 'node:crypto';
import { WeComApiError, WeComTransportError } from './errors';

/** The slice of Redis the token cache needs (ioredis satisfies it). */
export interface TokenStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ttlMs: number, nx?: 'NX'): Promise<'OK' | null>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

export interface WeComApiOptions {
  apiBase: string;
  corpId: string;
  store: TokenStore;
  timeoutMs?: number;
  /** how long a caller waits for another process's refresh before trying itself */
  lockWaitMs?: number;
  /**
   * 45009 (frequency limit) blocks an API for the rest of its window: a minute, or an hour when the
   * minute was not the problem. Every process then stops calling that API until the window is over
   * (default [60 s, 1 h]).
   */
  frequencyWindowsMs?: [number, number];
}

export interface WeComEnvelope {
  errcode?: number | string;
  errmsg?: string;
}

export interface FollowUserTag {
  group_name?: string;
  tag_name?: string;
  tag_id?: string;
  type?: number;
}

export interface FollowUser {
  userid: string;
  remark?: string;
  description?: string;
  createtime?: number;
  tags?: FollowUserTag[];
  remark_corp_name?: string;
  remark_mobiles?: string[];
  oper_userid?: string;
  add_way?: number;
  state?: string;
}

export interface ExternalContact {
  external_userid: string;
  name?: string;
  avatar?: string;
  type?: number;
  gender?: number;
  unionid?: string;
  position?: string;
  corp_name?: string;
}

export interface CorpTagGroup {
  group_id: string;
  group_name: string;
  deleted?: boolean;
  tag: { id: string; name: string; deleted?: boolean }[];
}

export interface KfMessage {
  msgid: string;
  open_kfid: string;
  external_userid?: string;
  send_time: number;
  origin: number;
  servicer_userid?: string;
  msgtype: string;
  [payload: string]: unknown;
}

/** externalcontact/add_msg_template (doc 92135): a mass-message task the sender confirms in WeCom. */
export interface MsgTemplateRequest {
  chat_type?: 'single' | 'group';
  external_userid: string[];
  sender: string;
  text?: { content: string };
  attachments?: Record<string, unknown>[];
}

export interface MsgTemplateResult extends WeComEnvelope {
  /** external_userids WeCom refused (no relation with the sender, …) */
  fail_list?: string[];
  msgid: string;
}

/** get_groupmsg_send_result status: 0 not sent yet, 1 sent, 2 not a contact (any more), 3 already got a mass message today. */
export interface GroupMsgSendItem {
  external_userid?: string;
  chat_id?: string;
  userid: string;
  status: 0 | 1 | 2 | 3;
  send_time?: number;
}

/** message/send (doc 90236) text card to members of our app. */
export interface AppTextCard {
  touser: string[];
  title: string;
  description: string;
  url: string;
  btntxt?: string;
}

export interface AppMessageResult extends WeComEnvelope {
  invaliduser?: string;
  unlicenseduser?: string;
  msgid?: string;
}

export interface KfSyncResult extends WeComEnvelope {
  next_cursor?: string;
  has_more?: number;
  msg_list?: KfMessage[];
}

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const DELETE_IF_EQUAL = RELEASE_LOCK;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FREQUENCY_LIMIT = 45009;

/** gettoken answers that mean the corp id or secret is wrong (40013 invalid corpid, 40001 invalid secret). */
const BAD_CREDENTIALS = new Set([40001, 40013]);
/** how long every process remembers such an answer before asking WeCom again (a new secret has a new key) */
const REFUSED_TTL_MS = 5 * 60_000;

/** A client bound to one secret (customer contact, self-built app, WeChat customer service). */
export class WeComClient {
  private readonly tokenKey: string;
  private readonly refusedKey: string;

  constructor(
    private readonly opts: WeComApiOptions,
    private readonly secret: string,
  ) {
    const secretTag = createHash('sha1').update(secret).digest('hex').slice(0, 8);
    this.tokenKey = `wecom:token:${opts.corpId}:${secretTag}`;
    this.refusedKey = `${this.tokenKey}:refused`;
  }

  /** GET or POST `/cgi-bin/<path>` with the access token; throws WeComApiError on errcode ≠ 0. */
  async call<T extends WeComEnvelope>(path: string, body?: unknown, query: Record<string, string> = {}): Promise<T> {
    await this.checkNotBlocked(path);
    let token = await this.accessToken();
    try {
      return await this.request<T>(path, { ...query, access_token: token }, body);
    } catch (err) {
      if (err instanceof WeComApiError && err.code === FREQUENCY_LIMIT) throw await this.block(path, err);
      if (!(err instanceof WeComApiError) || !err.isTokenError) throw err;
      await this.opts.store.eval(DELETE_IF_EQUAL, 1, this.tokenKey, token);
      token = await this.accessToken();
      return this.request<T>(path, { ...query, access_token: token }, body);
    }
  }

  private blockedKey = (path: string) => `wecom:blocked:${this.opts.corpId}:${path}`;

  /** Refuses at once, without asking WeCom, while a 45009 window for `path` is still open. */
  private async checkNotBlocked(path: string): Promise<void> {
    const until = Number(await this.opts.store.get(this.blockedKey(path)));
    const left = until - Date.now();
    if (until && left > 0) {
      throw new WeComApiError(FREQUENCY_LIMIT, `frequency limit (remembered; not calling WeCom until ${new Date(until).toISOString()})`, path, left);
    }
  }

  /**
   * Remembers a 45009 for every process: the API stays blocked for a minute; a second 45009 soon
   * after the first block ended means the hourly window, so it is blocked for the hour.
   */
  private async block(path: string, err: WeComApiError): Promise<WeComApiError> {
    const [minuteMs, hourMs] = this.opts.frequencyWindowsMs ?? [60_000, 3_600_000];
    const strikeKey = `${this.blockedKey(path)}:strike`;
    const repeated = (await this.opts.store.get(strikeKey)) !== null;
    const windowMs = repeated ? hourMs : minuteMs;
    const until = Date.now() + windowMs;
    await this.opts.store.set(this.blockedKey(path), String(until), 'PX', windowMs);
    await this.opts.store.set(strikeKey, '1', 'PX', windowMs + minuteMs);
    return new WeComApiError(err.code, err.apiMessage, path, windowMs);
  }

  /** The cached token, or a fresh one fetched by exactly one process at a time. */
  async accessToken(): Promise<string> {
    const cached = await this.cachedToken();
    if (cached) return cached;
    const lockKey = `${this.tokenKey}:lock`;
    const owner = randomUUID();
    const deadline = Date.now() + (this.opts.lockWaitMs ?? 5000);
    let locked = false;
    while (!locked) {
      locked = (await this.opts.store.set(lockKey, owner, 'PX', 10_000, 'NX')) === 'OK';
      if (locked) break;
      await sleep(25);
      const other = await this.cachedToken();
      if (other) return other;
      // the holder is taking too long (or died holding the lock): refresh ourselves
      if (Date.now() > deadline) break;
    }
    try {
      const again = await this.cachedToken();
      if (again) return again;
      return await this.fetchToken();
    } finally {
      if (locked) await this.opts.store.eval(RELEASE_LOCK, 1, lockKey, owner);
    }
  }

  /** The shared token; throws the remembered answer when WeCom recently refused this secret. */
  private async cachedToken(): Promise<string | null> {
    const token = await this.opts.store.get(this.tokenKey);
    if (token) return token;
    const refused = await this.opts.store.get(this.refusedKey);
    if (!refused) return null;
    let why: { code?: number; message?: string } = {};
    try {
      why = JSON.parse(refused);
    } catch {
      // an unreadable note still means refused
    }
    throw new WeComApiError(Number(why.code ?? 40001), `${why.message ?? 'invalid credential'} (remembered; not asking WeCom again yet)`, 'gettoken');
  }

  private async fetchToken(): Promise<string> {
    let res: WeComEnvelope & { access_token: string; expires_in: number };
    try {
      res = await this.request('gettoken', { corpid: this.opts.corpId, corpsecret: this.secret });
    } catch (err) {
      // a bad secret or corp id stays bad: repeating gettoken only gets the IP banned (doc 90313)
      if (err instanceof WeComApiError && BAD_CREDENTIALS.has(err.code)) {
        await this.opts.store.set(this.refusedKey, JSON.stringify({ code: err.code, message: err.apiMessage }), 'PX', REFUSED_TTL_MS);
      }
      throw err;
    }
    const ttlMs = Math.max(60, Number(res.expires_in ?? 7200) - 300) * 1000;
    await this.opts.store.set(this.tokenKey, res.access_token, 'PX', ttlMs);
    return res.access_token;
  }

  private async request<T extends WeComEnvelope>(path: string, query: Record<string, string>, body?: unknown): Promise<T> {
    const url = `${this.opts.apiBase}/cgi-bin/${path}?${new URLSearchParams(query).toString()}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new WeComTransportError(`WeCom ${path} unreachable: ${(err as Error).message}`, path);
    }
    const text = await res.text();
    if (!res.ok) throw new WeComTransportError(`WeCom ${path} answered HTTP ${res.status}`, path, res.status);
    let json: T;
    try {
      json = JSON.parse(text) as T;
    } catch {
      throw new WeComTransportError(`WeCom ${path} answered something that is not JSON`, path, res.status);
    }
    const code = Number(json.errcode ?? 0);
    if (code !== 0) throw new WeComApiError(code, String(json.errmsg ?? ''), path);
    return json;
  }
}

/** The WeCom APIs Touchpoint uses, each through the secret it needs. */
export class WeComApi {
  readonly contact: WeComClient | null;
  readonly agent: WeComClient | null;
  readonly kf: WeComClient | null;
  /** the self-built app's AgentId (message/send names it) */
  readonly agentId: string | null;

  constructor(opts: WeComApiOptions, secrets: { contact: string | null; agent: string | null; kf: string | null; agentId?: string | null }) {
    this.contact = secrets.contact ? new WeComClient(opts, secrets.contact) : null;
    this.agent = secrets.agent ? new WeComClient(opts, secrets.agent) : null;
    this.kf = secrets.kf ? new WeComClient(opts, secrets.kf) : null;
    this.agentId = secrets.agentId ?? null;
  }

  /** true when app messages to staff can be sent (app secret and AgentId) */
  get canMessageStaff(): boolean {
    return this.agent !== null && this.agentId !== null;
  }

  private need(client: WeComClient | null, setting: string): WeComClient {
    if (!client) throw new Error(`${setting} is not configured`);
    return client;
  }

  /** externalcontact/get, following next_cursor until every follow_user is in. */
  async getExternalContact(externalUserId: string): Promise<{ external_contact: ExternalContact; follow_user: FollowUser[] }> {
    const client = this.need(this.contact, 'WECOM_CONTACT_SECRET');
    const follow: FollowUser[] = [];
    let cursor = '';
    let contact: ExternalContact | undefined;
    for (let page = 0; page < 100; page++) {
      const res = await client.call<WeComEnvelope & { external_contact: ExternalContact; follow_user?: FollowUser[]; next_cursor?: string }>(
        'externalcontact/get',
        undefined,
        cursor ? { external_userid: externalUserId, cursor } : { external_userid: externalUserId },
      );
      contact = res.external_contact;
      follow.push(...(res.follow_user ?? []));
      if (!res.next_cursor) break;
      cursor = res.next_cursor;
    }
    return { external_contact: contact!, follow_user: follow };
  }

  async getCorpTagList(filter: { tag_id?: string[]; group_id?: string[] }): Promise<CorpTagGroup[]> {
    const client = this.need(this.contact, 'WECOM_CONTACT_SECRET');
    const res = await client.call<WeComEnvelope & { tag_group?: CorpTagGroup[] }>('externalcontact/get_corp_tag_list', filter);
    return res.tag_group ?? [];
  }

  async kfSyncMsg(req: { cursor?: string; token?: string; open_kfid: string; limit?: number }): Promise<KfSyncResult> {
    const client = this.need(this.kf, 'WECOM_KF_SECRET (or WECOM_AGENT_SECRET)');
    return client.call<KfSyncResult>('kf/sync_msg', req);
  }

  /** externalcontact/add_msg_template: creates the task the sender confirms; one customer may get one mass message a day. */
  async addMsgTemplate(req: MsgTemplateRequest): Promise<MsgTemplateResult> {
    const client = this.need(this.contact, 'WECOM_CONTACT_SECRET');
    return client.call<MsgTemplateResult>('externalcontact/add_msg_template', { chat_type: 'single', ...req });
  }

  /** externalcontact/get_groupmsg_send_result for one sender of a task, every page. */
  async getGroupMsgSendResult(msgid: string, userid: string): Promise<GroupMsgSendItem[]> {
    const client = this.need(this.contact, 'WECOM_CONTACT_SECRET');
    const items: GroupMsgSendItem[] = [];
    let cursor = '';
    for (let page = 0; page < 1000; page++) {
      const res = await client.call<WeComEnvelope & { send_list?: GroupMsgSendItem[]; next_cursor?: string }>('externalcontact/get_groupmsg_send_result', {
        msgid,
        userid,
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      items.push(...(res.send_list ?? []));
      if (!res.next_cursor) break;
      cursor = res.next_cursor;
    }
    return items;
  }

  /** externalcontact/send_welcome_msg: the code lives 20 s and works once (41051 used, 41050 expired). */
  async sendWelcomeMsg(req: { welcome_code: string; text?: { content: string }; attachments?: Record<string, unknown>[] }): Promise<void> {
    const client = this.need(this.contact, 'WECOM_CONTACT_SECRET');
    await client.call('externalcontact/send_welcome_msg', req);
  }

  /** message/send as a text card from our app to staff members. */
  async sendAppTextCard(card: AppTextCard): Promise<AppMessageResult> {
    const client = this.need(this.agent, 'WECOM_AGENT_SECRET');
    if (!this.agentId) throw new Error('WECOM_AGENT_ID is not configured');
    return client.call<AppMessageResult>('message/send', {
      touser: card.touser.join('|'),
      msgtype: 'textcard',
      agentid: Number(this.agentId),
      textcard: { title: card.title, description: card.description, url: card.url, btntxt: card.btntxt ?? '详情' },
      enable_duplicate_check: 0,
    });
  }
}
