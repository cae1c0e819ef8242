// The SMS provider registry: one line per provider module (channels/sms/provider.ts says what a
// module declares). config/sms.ts, the SMS webhooks and the messages route read this list and
// nothing provider-specific; adding a provider = its module + one line here (docs/recipes-providers.md).
import type { ChannelAdapter, OutboundSms } from '../channel';
import { aliyunSms } from './aliyun.sms';
import type { SmsSharedConfig } from './provider';
import { tencentSms } from './tencent.sms';
import { twilioSms } from './twilio.sms';

export const SMS_PROVIDERS = [tencentSms, aliyunSms, twilioSms] as const;

type SmsProviderEntry = (typeof SMS_PROVIDERS)[number];
export type SmsProviderId = SmsProviderEntry['id'];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every provider's part of the settings, e.g. `{ tencent: TencentSmsConfig | null } & { twilio: …; twilioAuthToken: … }`. */
type ProviderSlices = UnionToIntersection<ReturnType<SmsProviderEntry['loadConfig']>['config']>;

/**
 * SMS settings (config/sms.ts loads them): the shared ones, and each provider's part — complete
 * settings or null, whichever provider is selected.
 */
export type SmsConfig = {
  /** the provider outbound SMS goes through; 'none' = SMS sending off (also when its settings are incomplete) */
  provider: SmsProviderId | 'none';
} & SmsSharedConfig &
  ProviderSlices;

/** The provider module registered under `id` (an adapter's `provider`), if any. */
export function findSmsProvider(id: string): SmsProviderEntry | undefined {
  return SMS_PROVIDERS.find((p) => p.id === id);
}

/** The outbound adapter of the configured provider; null when SMS sending is off. */
export function createSmsAdapter(cfg: SmsConfig): ChannelAdapter<OutboundSms> | null {
  return findSmsProvider(cfg.provider)?.createAdapter(cfg) ?? null;
}

export { parseAliyunPush } from './aliyun.sms';
export { SmsPayloadError } from './common';
export { parseTencentCallback } from './tencent.sms';
export { parseForm, parseTwilioWebhook, TWILIO_WEBHOOK_PATH, twilioStatusCallbackUrl, validateTwilioSignature } from './twilio.sms';
