// /api/campaigns and the campaign report: auth (router-level) → validate → domain → JSON.
//   GET  /api/campaigns/:kind                 the stored settings (defaults, disabled, until first PUT)
//   PUT  /api/campaigns/:kind                 replace them (400 naming the field); reschedules the sweep
//   POST /api/campaigns/:kind/run?date=&dryRun=1   sweep one store-local day (dry: nothing written)
//   GET  /api/reports/campaigns?from=&to=     per campaign: candidates, sends, skips, coupons, attribution
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { campaignKind, getCampaign, isSweepKind, parseCampaignConfig, putCampaign } from '../src/outreach/campaigns';
import { campaignReport } from '../src/outreach/report';
import { syncCampaignSchedules } from '../src/outreach/schedule';
import { addDays, isCalendarDate, localDate } from '../src/platform/store-time';
import { runCampaignSweep } from '../src/outreach/sweep';
import { Conflict, Invalid } from '../src/platform/errors';
import { queryString as str, readJson } from './body';

function dayParam(raw: string | undefined, field: string, def: string): string {
  if (raw === undefined || raw === '') return def;
  if (!isCalendarDate(raw)) throw new Invalid(field, "must be a calendar day 'YYYY-MM-DD'");
  return raw;
}

export function registerCampaignRoutes(router: Router, app: AppContext): void {
  const today = () => localDate(app.now(), app.config.storeTimezone);

  router.get('/api/campaigns/:kind', async (ctx) => {
    const kind = campaignKind(ctx.params.kind);
    ctx.body = await getCampaign(app.db, kind);
  });

  router.put('/api/campaigns/:kind', async (ctx) => {
    const kind = campaignKind(ctx.params.kind);
    const config = parseCampaignConfig(await readJson(ctx));
    const actor = (ctx.get('x-actor') || 'admin').slice(0, 64);
    await putCampaign(app.db, kind, config, actor, app.now());
    if (isSweepKind(kind)) await syncCampaignSchedules(app.db, app.queues.campaigns, app.config.storeTimezone, [kind]);
    ctx.body = await getCampaign(app.db, kind);
  });

  router.post('/api/campaigns/:kind/run', async (ctx) => {
    const kind = campaignKind(ctx.params.kind);
    if (!isSweepKind(kind)) throw new Invalid('kind', 'welcome messages are sent when a customer adds a staff member, not by a sweep');
    const date = dayParam(str(ctx.query.date), 'date', today());
    const dry = str(ctx.query.dryRun);
    if (dry !== undefined && !['1', '0', 'true', 'false'].includes(dry)) throw new Invalid('dryRun', "must be 1 or 0");
    const dryRun = dry === '1' || dry === 'true';
    const campaign = await getCampaign(app.db, kind);
    if (!dryRun && !campaign.enabled) throw new Conflict('campaign_disabled', `the ${kind} campaign is disabled: enable it, or ask for a dry run (dryRun=1)`);
    ctx.body = await runCampaignSweep(app.domain, { kind, date, now: app.now(), dryRun, campaign });
  });

  router.get('/api/reports/campaigns', async (ctx) => {
    const to = dayParam(str(ctx.query.to), 'to', today());
    const from = dayParam(str(ctx.query.from), 'from', addDays(to, -29));
    if (from > to) throw new Invalid('from', 'must not be after to');
    if (addDays(from, 366) <= to) throw new Invalid('to', 'the period is at most 366 days');
    ctx.body = await campaignReport(app.db, { from, to, timezone: app.config.storeTimezone });
  });
}
