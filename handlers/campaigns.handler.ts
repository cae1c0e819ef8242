// /api/campaigns: auth (router-level) → validate → domain → JSON.
//   GET  /api/campaigns/:kind                 the stored settings (defaults, disabled, until first PUT)
//   PUT  /api/campaigns/:kind                 replace them (400 naming the field); reschedules the sweep
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { getCampaign, isCampaignKind, isSweepKind, parseCampaignConfig, putCampaign } from '../src/outreach/campaigns';
import { syncCampaignSchedules } from '../src/outreach/schedule';
import { readJson } from './body';
import { fail } from './http-errors';

export function registerCampaignRoutes(router: Router, app: AppContext): void {
  router.get('/api/campaigns/:kind', async (ctx) => {
    const kind = ctx.params.kind;
    if (!isCampaignKind(kind)) return fail(ctx, 404, 'not_found', `no campaign ${kind} (welcome, birthday, reorder, winback)`);
    ctx.body = await getCampaign(app.db, kind);
  });

  router.put('/api/campaigns/:kind', async (ctx) => {
    const kind = ctx.params.kind;
    if (!isCampaignKind(kind)) return fail(ctx, 404, 'not_found', `no campaign ${kind} (welcome, birthday, reorder, winback)`);
    const config = parseCampaignConfig(await readJson(ctx));
    const actor = (ctx.get('x-actor') || 'admin').slice(0, 64);
    await putCampaign(app.db, kind, config, actor, app.now());
    if (isSweepKind(kind)) await syncCampaignSchedules(app.db, app.queues.campaigns, app.config.storeTimezone, [kind]);
    ctx.body = await getCampaign(app.db, kind);
  });
}
