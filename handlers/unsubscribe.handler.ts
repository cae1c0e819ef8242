// One-click unsubscribe. PLACEHOLDER: the email work adds GET/POST /unsubscribe/:token.
import type Router from '@koa/router';
import type { AppContext } from '../src/context';

export function registerUnsubscribe(router: Router, app: AppContext): void {
  void router;
  void app;
}
