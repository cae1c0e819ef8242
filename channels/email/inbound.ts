// The inbound email provider registry: one line per provider module (channels/email/provider.ts
// says what a module declares). config/email.ts and the email webhooks read this list and nothing
// provider-specific; adding a provider = its module + one line here (docs/recipes-providers.md).
import { mailgunEmail } from './mailgun.email';
import { rawEmail } from './raw.email';
import { sendgridEmail } from './sendgrid.email';

export const EMAIL_INBOUND_PROVIDERS = [rawEmail, sendgridEmail, mailgunEmail] as const;

type EmailInboundEntry = (typeof EMAIL_INBOUND_PROVIDERS)[number];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every provider's part of EmailConfig, e.g. `{ mailgunSigningKey, mailgunMaxAgeSeconds }`. */
export type EmailInboundSlices = UnionToIntersection<ReturnType<EmailInboundEntry['loadConfig']>>;
