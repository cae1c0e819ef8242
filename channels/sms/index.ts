// Builds the outbound SMS adapter for the configured provider (null when SMS sending is off).
// PLACEHOLDER: the SMS work adds tencent.sms.ts, aliyun.sms.ts, twilio.sms.ts and picks one here.
import type { SmsConfig } from '../../config/sms';
import type { ChannelAdapter, OutboundSms } from '../channel';

export function createSmsAdapter(cfg: SmsConfig): ChannelAdapter<OutboundSms> | null {
  void cfg;
  return null;
}
