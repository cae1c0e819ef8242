// What an SMS provider module declares — everything the rest of Touchpoint knows about a provider:
// its id, its variables, its config loader, its adapter, its inbound webhooks and its capabilities.
// channels/sms/index.ts lists the modules (SMS_PROVIDERS); config/sms.ts, the SMS webhooks and the
// messages route only iterate or consult that list. No Koa here: a webhook is declared as data and
// pure functions over the request, and handlers/sms-webhooks.handler.ts does the HTTP part for all.
import type { ChannelAdapter, InboundItem, InboundRequest, OutboundSms, Refusal } from '../channel';
import type { Env } from '../env';

/** The settings every SMS provider shares (config/sms.ts reads them before any provider's own). */
export interface SmsSharedConfig {
  /** path token protecting the unsigned (path-token) webhooks; null = those webhooks off */
  webhookToken: string | null;
  /** default 签名 for messages that do not carry one */
  signName: string | null;
  /** public origin (no trailing slash) providers call: rebuilds signed URLs, builds callback URLs */
  publicBaseUrl: string | null;
  sendTimeoutMs: number;
}

export interface SmsCapabilities {
  /** free text can be sent (Twilio); otherwise only a provider-approved template (Tencent, Aliyun) */
  freeText: boolean;
  /** the provider cannot send without a 签名: SMS_SIGN_NAME is required to select it */
  needsSignName: boolean;
}

/** What a provider's config loader hands back. */
export interface SmsLoaded<Slice> {
  /** its part of SmsConfig, e.g. `{ tencent: {…} | null }` (null = incomplete or absent) */
  config: Slice;
  /** its required variables that are not set (it cannot be selected while any is missing) */
  missing: string[];
  /** start-up notices about its own webhooks; `requested` = SMS_PROVIDER names it */
  notices?: (shared: SmsSharedConfig, requested: boolean) => string[];
}

/** The outcome of a webhook: the items to store, or a refusal (nothing is stored). */
export type SmsWebhookOutcome = { items: InboundItem[] } | { refused: Refusal };

export interface SmsWebhook<C> {
  /** the route, e.g. '/webhooks/sms/tencent/:token' (a path-token route ends in /:token) */
  path: string;
  /**
   * `path-token`: the provider signs nothing; the :token segment is compared with SMS_WEBHOOK_TOKEN
   * (wrong or unset → 404, as if the route did not exist).
   * `signed`: `precheck` runs on the headers before the body is read (is the webhook on, is the
   * signature there), and `receive` verifies the signature over the body.
   */
  auth: { kind: 'path-token' } | { kind: 'signed'; precheck: (headers: InboundRequest['headers'], cfg: C) => Refusal | null };
  /** the body must have this Content-Type (else 400 bad_payload); unchecked when absent */
  contentType?: string;
  /** the request (body ≤ 256 KB, `url` = the public URL called) → inbound items; a bad body throws SmsPayloadError (400) */
  receive: (req: InboundRequest, cfg: C) => SmsWebhookOutcome;
  /** the 200 answer the provider expects once the items are stored */
  ack: { type?: string; body: string | Record<string, unknown> };
}

export interface SmsProviderModule<Id extends string, Slice extends object> {
  /** SMS_PROVIDER value, metrics label, delivery.provider */
  id: Id;
  /** how start-up messages name it, e.g. 'Tencent' */
  label: string;
  /** every variable it reads, with what it is (.env.example documents each, in its SMS section) */
  env: Readonly<Record<string, string>>;
  capabilities: SmsCapabilities;
  /** reads its variables; an invalid value goes into `problems`, naming the variable */
  loadConfig: (env: Env, problems: string[], shared: SmsSharedConfig) => SmsLoaded<Slice>;
  /** its adapter, or null when its settings are incomplete */
  createAdapter: (cfg: SmsSharedConfig & Slice) => ChannelAdapter<OutboundSms> | null;
  webhooks: readonly SmsWebhook<SmsSharedConfig & Slice>[];
}

/** Declares a provider module (only to infer its types). */
export const defineSmsProvider = <Id extends string, Slice extends object>(p: SmsProviderModule<Id, Slice>): SmsProviderModule<Id, Slice> => p;
