// Builds the outbound SMS adapter for the configured provider (null when SMS sending is off).
// config/sms.ts leaves `provider` at 'none' unless that provider's settings are complete.
import type { SmsConfig } from '../../config/sms';
import type { ChannelAdapter, OutboundSms } from '../channel';
import { AliyunSmsAdapter } from './aliyun.sms';
import { TencentSmsAdapter } from './tencent.sms';
import { TwilioSmsAdapter } from './twilio.sms';

/** Where Twilio posts status callbacks; `ref` (our delivery id) comes back in the URL it signs. */
export const TWILIO_WEBHOOK_PATH = '/webhooks/sms/twilio';

export function twilioStatusCallbackUrl(publicBaseUrl: string, reference: string): string {
  return `${publicBaseUrl}${TWILIO_WEBHOOK_PATH}?ref=${encodeURIComponent(reference)}`;
}

export function createSmsAdapter(cfg: SmsConfig): ChannelAdapter<OutboundSms> | null {
  switch (cfg.provider) {
    case 'tencent':
      return cfg.tencent ? new TencentSmsAdapter(cfg.tencent, { signName: cfg.signName, timeoutMs: cfg.sendTimeoutMs }) : null;
    case 'aliyun':
      return cfg.aliyun ? new AliyunSmsAdapter(cfg.aliyun, { signName: cfg.signName, timeoutMs: cfg.sendTimeoutMs }) : null;
    case 'twilio': {
      const base = cfg.publicBaseUrl;
      return cfg.twilio
        ? new TwilioSmsAdapter(cfg.twilio, { timeoutMs: cfg.sendTimeoutMs, statusCallback: base ? (ref) => twilioStatusCallbackUrl(base, ref) : null })
        : null;
    }
    default:
      return null;
  }
}

export { parseAliyunPush } from './aliyun.sms';
export { parseTencentCallback } from './tencent.sms';
export { parseForm, parseTwilioWebhook, validateTwilioSignature } from './twilio.sms';
export { SmsPayloadError } from './common';
