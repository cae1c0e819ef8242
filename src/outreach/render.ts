// A campaign's templates rendered for the channel a customer is reached on: WeCom text, SMS template
// params (positional), or email subject/text/HTML — with one fallback language for the whole campaign.
//
// SMS: the campaign names a provider-approved template and its params; the words around them live at
// the provider. The delivery's `text` (the timeline, and the body for text-only providers like Twilio)
// is the params in order, ending with the opt-out wording every marketing SMS must carry — 拒收请回复R
// (Chinese carriers and Tencent/Aliyun require it at the end of every marketing template, so that is
// what the customer reads) or "Reply STOP to opt out" — unless the params already say it.
import { hasOptOutInstruction } from '../../channels/sms/common';
import type { DeliveryContent } from '../sending/deliveries';
import { templateFields, type CampaignChannel, type CampaignConfig } from './campaigns';
import { renderTemplate, templateLanguage, TemplateError, type Language, type TemplateVars } from './templates';

export const SMS_OPT_OUT: Record<Language, string> = { zh: '拒收请回复R', en: 'Reply STOP to opt out' };

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
    const words = params.join(' ');
    const text = hasOptOutInstruction(words) ? words : `${words} ${SMS_OPT_OUT[lang]}`.trim();
    return { text, templateId: t.templateId, signName: t.signName || signNameDefault || '', params };
  }
  const t = campaign.templates.email;
  if (!t) throw new TemplateError('the campaign has no email template');
  const out: DeliveryContent = { subject: render(t.subject), text: render(t.text) };
  if (t.html) out.html = render(t.html, 'html');
  return out;
}
