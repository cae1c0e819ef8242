// Email settings. A channel whose settings are missing is off (and says so at start).
// PLACEHOLDER: the email work fills this in (SMTP_URL, EMAIL_FROM, EMAIL_WEBHOOK_TOKEN, MAILGUN_SIGNING_KEY, PUBLIC_BASE_URL …).

export interface EmailConfig {
  /** true when outbound email can be sent */
  sendEnabled: boolean;
}

export function loadEmailConfig(env: Record<string, string | undefined>, problems: string[], notices: string[]): EmailConfig {
  void env;
  void problems;
  notices.push('Email is off (not implemented yet)');
  return { sendEnabled: false };
}
