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

export interface KfSyncResult extends WeComEnvelope {
  next_cursor?: string;
  has_more?: number;
  msg_list?: KfMessage[];
}

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const DELETE_IF_EQUAL = RELEASE_LOCK;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client bound to one secret (customer contact, self-built app, WeChat customer service). */
export class WeComClient {
  private readonly tokenKey: string;

  constructor(
    private readonly opts: WeComApiOptions,
    private readonly secret: string,
  ) {
    const secretTag = createHash('sha1').update(secret).digest('hex').slice(0, 8);
    this.tokenKey = `wecom:token:${opts.corpId}:${secretTag}`;
  }

  /** GET or POST `/cgi-bin/<path>` with the access token; throws WeComApiError on errcode ≠ 0. */
  async call<T extends WeComEnvelope>(path: string, body?: unknown, query: Record<string, string> = {}): Promise<T> {
    let token = await this.accessToken();
    try {
      return await this.request<T>(path, { ...query, access_token: token }, body);
    } catch (err) {
      if (!(err instanceof WeComApiError) || !err.isTokenError) throw err;
      await this.opts.store.eval(DELETE_IF_EQUAL, 1, this.tokenKey, token);
      token = await this.accessToken();
      return this.request<T>(path, { ...query, access_token: token }, body);
    }
  }

  /** The cached token, or a fresh one fetched by exactly one process at a time. */
  async accessToken(): Promise<string> {
    const cached = await this.opts.store.get(this.tokenKey);
    if (cached) return cached;
    const lockKey = `${this.tokenKey}:lock`;
    const owner = randomUUID();
    const deadline = Date.now() + (this.opts.lockWaitMs ?? 5000);
    for (;;) {
      if ((await this.opts.store.set(lockKey, owner, 'PX', 10_000, 'NX')) === 'OK') break;
      await sleep(25);
      const other = await this.opts.store.get(this.tokenKey);
      if (other) return other;
      if (Date.now() > deadline) throw new WeComTransportError('timed out waiting for another process to refresh the access token', 'gettoken');
    }
    try {
      const again = await this.opts.store.get(this.tokenKey);
      if (again) return again;
      const res = await this.request<WeComEnvelope & { access_token: string; expires_in: number }>('gettoken', {
        corpid: this.opts.corpId,
        corpsecret: this.secret,
      });
      const ttlMs = Math.max(60, Number(res.expires_in ?? 7200) - 300) * 1000;
      await this.opts.store.set(this.tokenKey, res.access_token, 'PX', ttlMs);
      return res.access_token;
    } finally {
      await this.opts.store.eval(RELEASE_LOCK, 1, lockKey, owner);
    }
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

  constructor(opts: WeComApiOptions, secrets: { contact: string | null; agent: string | null; kf: string | null }) {
    this.contact = secrets.contact ? new WeComClient(opts, secrets.contact) : null;
    this.agent = secrets.agent ? new WeComClient(opts, secrets.agent) : null;
    this.kf = secrets.kf ? new WeComClient(opts, secrets.kf) : null;
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
}
