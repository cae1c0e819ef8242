// /api/events: the durable inbox for operators — list with filters, and retry a failed event.
import type Router from '@koa/router';
import type { InboundStatus } from '../entities';
import type { AppContext } from '../src/context';
import { INBOUND_STATUSES, listInboundEvents } from '../src/inbox/inbox';
import { Conflict, Invalid, NotFound } from '../src/platform/errors';
import { decodeCursor, encodeCursor, parseLimit } from '../src/platform/paging';

const str = (v: unknown): string | undefined => (Array.isArray(v) ? v[0] : typeof v === 'string' ? v : undefined);

export function registerEventRoutes(router: Router, app: AppContext): void {
  router.get('/api/events', async (ctx) => {
    const status = str(ctx.query.status);
    if (status && !INBOUND_STATUSES.includes(status as InboundStatus)) {
      throw new Invalid('status', `status must be one of ${INBOUND_STATUSES.join(', ')}`);
    }
    const channel = str(ctx.query.channel);
    if (channel && !/^[a-z_]{1,16}$/.test(channel)) throw new Invalid('channel', 'channel must be a channel name such as wecom');
    const limit = parseLimit(str(ctx.query.limit));
    const [afterId] = decodeCursor(str(ctx.query.cursor), 1) ?? [];
    if (afterId !== undefined && !/^\d+$/.test(afterId)) throw new Invalid('cursor', 'cursor is not one this API handed out');
    const page = await listInboundEvents(app.db, { channel, status: status as InboundStatus | undefined, limit, afterId });
    ctx.body = { items: page.items, nextCursor: page.more && page.lastId ? encodeCursor([page.lastId]) : null };
  });

  router.post('/api/events/:id/retry', async (ctx) => {
    const id = ctx.params.id;
    const ev = /^\d{1,20}$/.test(id) ? await app.inbox.get(id) : null;
    if (!ev) throw new NotFound(`no event ${id}`);
    if (!(await app.inbox.reopen(id))) throw new Conflict('not_failed', `event ${id} is ${ev.status}; only failed events can be retried`);
    await app.enqueueInbound(id);
    ctx.status = 202;
    ctx.body = { id, status: 'received' };
  });
}
