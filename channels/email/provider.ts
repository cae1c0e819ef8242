// What an inbound email provider module declares: its id, its variables and config loader, and its
// webhook (path, authentication, parsing, acknowledgement). channels/email/inbound.ts lists the
// modules (EMAIL_INBOUND_PROVIDERS); config/email.ts and handlers/email-webhooks.handler.ts only
// iterate that list. No Koa here: the handler does the HTTP part for every provider alike.
// (Outbound email is one adapter, SMTP: channels/email/index.ts.)
import type { InboundRequest, Refusal } from '../channel';
import type { Env } from '../env';
import type { InboundEmailItem } from './mime';

/** The inbound setting every provider shares (config/email.ts reads it). */
export interface EmailInboundSharedConfig {
  /** EMAIL_WEBHOOK_TOKEN: path token of the unsigned (path-token) routes; null = those routes off */
  webhookToken: string | null;
}

/** The outcome of a webhook: the mail to store, or a refusal (nothing is stored). */
export type EmailWebhookOutcome =
  | {
      item: InboundEmailItem;
      /**
       * A signature that covers a token but not the mail: the first mail seen with the token owns it
       * for `ttlSeconds` (another mail under it → 401 replayed_token), checked by the handler.
       */
      singleUse?: { token: string; ttlSeconds: number };
    }
  | { refused: Refusal };

export interface EmailWebhook<C> {
  /** the route, e.g. '/webhooks/email/sendgrid/:token' (a path-token route ends in /:token) */
  path: string;
  /**
   * `path-token`: the :token segment is compared with EMAIL_WEBHOOK_TOKEN (wrong or unset → 404).
   * `signed`: `precheck` says whether the route is on before the body is read; `receive` verifies.
   */
  auth: { kind: 'path-token' } | { kind: 'signed'; precheck: (cfg: C) => Refusal | null };
  /**
   * The request (body ≤ 25 MB) → one mail. An unreadable form throws FormError, an unreadable
   * message MimeError (both 400); `now` is the app's clock, `fieldSize` the largest form field.
   */
  receive: (req: InboundRequest, cfg: C, opts: { now: Date; fieldSize: number }) => Promise<EmailWebhookOutcome>;
  /** the 200 answer once the mail is stored */
  ack: { body: Record<string, unknown> };
}

export interface EmailInboundProviderModule<Id extends string, Slice extends object> {
  /** route label in metrics and logs, e.g. 'mailgun' */
  id: Id;
  /** how start-up messages name it, e.g. 'SendGrid' */
  label: string;
  /** every variable it reads itself, with what it is (.env.example documents each, in its Email section) */
  env: Readonly<Record<string, string>>;
  /** reads its variables: an invalid value is a problem naming it, an unset one a notice if that turns it off */
  loadConfig: (env: Env, problems: string[], notices: string[]) => Slice;
  webhook: EmailWebhook<EmailInboundSharedConfig & Slice>;
}

/** Declares an inbound email provider module (only to infer its types). */
export const defineEmailInboundProvider = <Id extends string, Slice extends object>(p: EmailInboundProviderModule<Id, Slice>): EmailInboundProviderModule<Id, Slice> => p;

/** What Touchpoint answers an inbound email provider once the mail is stored. */
export const EMAIL_ACK = { ok: true };
