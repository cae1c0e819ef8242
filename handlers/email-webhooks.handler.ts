// Email webhooks. PLACEHOLDER: the email work adds /webhooks/email/raw/:token, Mailgun and SendGrid routes.
import type Router from '@koa/router';
import type { AppContext } from '../src/context';

export function registerEmailWebhooks(router: Router, app: AppContext): void {
  void router;
  void app;
}
