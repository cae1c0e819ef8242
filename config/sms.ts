// SMS settings. A provider whose settings are missing is off (and says so at start).
// PLACEHOLDER: the SMS work fills this in (SMS_PROVIDER, per-provider keys, sign name, templates, SMS_WEBHOOK_TOKEN, TWILIO_AUTH_TOKEN …).

export interface SmsConfig {
  /** the provider outbound SMS goes through; 'none' = SMS sending off */
  provider: 'tencent' | 'aliyun' | 'twilio' | 'none';
  /** path token protecting the unsigned Tencent/Aliyun webhooks; null = those webhooks off */
  webhookToken: string | null;
}

export function loadSmsConfig(env: Record<string, string | undefined>, problems: string[], notices: string[]): SmsConfig {
  void env;
  void problems;
  notices.push('SMS is off (not implemented yet)');
  return { provider: 'none', webhookToken: null };
}
