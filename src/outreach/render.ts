// A campaign's templates rendered for the channel a customer is reached on: WeCom text, SMS template
// params (positional), or email subject/text/HTML — with one fallback language for the whole campaign.
import type { DeliveryContent } from '../deliveries';
import { templateFields, type CampaignChannel, type CampaignConfig } from './campaigns';
import { renderTemplate, templateLanguage, TemplateError, type Language, type TemplateVars } from './templates';

const languages = new WeakMap<CampaignConfig, Language>();

/** One language for a campaign's fallbacks, whatever channel a customer is reached on. */
function campaignLanguage(campaign: CampaignConfig): Language {
  let lang = languages.get(campaign);
  if (!lang) {
    lang = templateLanguage(templateFields(campaign).map((t) => t.source));
    languages.set(campaign, lang);
  }
  return lang;
}

export function renderFor(campaign: CampaignConfig, channel: CampaignChannel, vars: TemplateVars, signNameDefault: string | null): DeliveryContent {
  const lang = campaignLanguage(campaign);
  const render = (source: string, mode: 'text' | 'html' = 'text') => renderTemplate(source, vars, mode, lang);
  if (channel === 'wecom') {
    const t = campaign.templates.wecom;
    if (!t) throw new TemplateError('the campaign has no wecom template');
    return { text: render(t.text) };
  }
  if (channel === 'sms') {
    const t = campaign.templates.sms;
    if (!t) throw new TemplateError('the campaign has no sms template');
    const params = t.params.map((p) => render(p));
    return { text: params.join(' '), templateId: t.templateId, signName: t.signName || signNameDefault || '', params };
  }
  const t = campaign.templates.email;
  if (!t) throw new TemplateError('the campaign has no email template');
  const out: DeliveryContent = { subject: render(t.subject), text: render(t.text) };
  if (t.html) out.html = render(t.html, 'html');
  return out;
}
