// bull-board at /admin/queues (every queue: inbound, send-sms/email/wecom, wecom-poll, campaigns…),
// behind the same Bearer admin token as /api.
import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Middleware } from 'koa';
import type { AppContext } from '../src/context';
import { adminAuth } from './admin-auth';

export const QUEUE_BOARD_PATH = '/admin/queues';

export function queueBoard(app: AppContext): Middleware {
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: app.queues.all.map((q) => new BullAdapter(q)), serverAdapter });
  const board = serverAdapter.registerPlugin() as unknown as Middleware;
  const auth = adminAuth(app.config.adminToken);
  return async (ctx, next) => {
    if (ctx.path !== QUEUE_BOARD_PATH && !ctx.path.startsWith(`${QUEUE_BOARD_PATH}/`)) return next();
    await auth(ctx, () => board(ctx, next));
  };
}
