// /api/customers, /api/identities: auth (router-level) → validate → domain read → JSON.
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { editCustomer, parseCustomerEdit } from '../src/customers/customer-edit';
import { importCustomers } from '../src/customers/customer-import';
import { parseLimit } from '../src/platform/paging';
import { customerExists, findCustomerIdByIdentity, getProfile, listCustomers, timelinePage } from '../src/customers/profiles';
import { NotFound } from '../src/platform/errors';
import { readJson } from './body';
import { csvUpload } from './csv-upload';

const str = (v: unknown): string | undefined => (Array.isArray(v) ? v[0] : typeof v === 'string' ? v : undefined);

export function registerCustomerRoutes(router: Router, app: AppContext): void {
  router.get('/api/customers', async (ctx) => {
    const limit = parseLimit(str(ctx.query.limit));
    ctx.body = await listCustomers(app.db, {
      q: str(ctx.query.q),
      tag: str(ctx.query.tag),
      stage: str(ctx.query.stage),
      rfm: str(ctx.query.rfm),
      limit,
      cursor: str(ctx.query.cursor),
    });
  });

  // CSV: name, phone, email, wecomExternalUserId, unionid, birthday, tags (;-separated) — src/customer-import.ts
  router.post('/api/customers/import', async (ctx) => {
    ctx.body = await importCustomers(app.domain, csvUpload(ctx));
  });

  // { actor, name?, birthday?, phone?, email?, notes? } → the updated profile
  router.patch('/api/customers/:id', async (ctx) => {
    if (!/^\d{1,20}$/.test(ctx.params.id)) throw new NotFound(`no customer ${ctx.params.id}`);
    const edit = parseCustomerEdit(await readJson(ctx, 64 * 1024));
    await editCustomer(app.db, ctx.params.id, edit, app.now());
    ctx.body = await getProfile(app.db, ctx.params.id);
  });

  router.get('/api/customers/:id', async (ctx) => {
    const profile = await getProfile(app.db, ctx.params.id);
    if (!profile) throw new NotFound(`no customer ${ctx.params.id}`);
    ctx.body = profile;
  });

  router.get('/api/customers/:id/timeline', async (ctx) => {
    const limit = parseLimit(str(ctx.query.limit));
    if (!(await customerExists(app.db, ctx.params.id))) throw new NotFound(`no customer ${ctx.params.id}`);
    ctx.body = await timelinePage(app.db, ctx.params.id, limit, str(ctx.query.cursor));
  });

  router.get('/api/identities/:channel/:externalId', async (ctx) => {
    const id = await findCustomerIdByIdentity(app.db, ctx.params.channel, ctx.params.externalId);
    const profile = id ? await getProfile(app.db, id) : null;
    if (!profile) throw new NotFound(`no customer has ${ctx.params.channel} identity ${ctx.params.externalId}`);
    ctx.body = profile;
  });
}
