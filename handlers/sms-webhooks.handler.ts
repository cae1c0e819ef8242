// SMS webhooks. PLACEHOLDER: the SMS work adds /webhooks/sms/tencent/:token, /webhooks/sms/aliyun/:token, /webhooks/sms/twilio.
import type Router from '@koa/router';
import type { AppContext } from '../src/context';

export function registerSmsWebhooks(router: Router, app: AppContext): void {
  void router;
  void app;
}
