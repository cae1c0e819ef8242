// Campaign templates (Handlebars): fallbacks for every missing value, never a raw '{{', HTML escaped
// only for email HTML, and the checks PUT /api/campaigns makes; store-local calendar arithmetic.
import { DEFAULT_CAMPAIGNS, parseCampaignConfig } from '../../src/outreach/campaigns';
import { birthdayMonthDays } from '../../src/outreach/birthday.campaign';
import { addDays, isCalendarDate, localDate, zonedTime } from '../../src/platform/store-time';
import { renderTemplate, TemplateError, templateVariables, type TemplateVars } from '../../src/outreach/templates';
import { renderFor } from '../../src/outreach/render';
import { COUPON_ALPHABET, generateCouponCode } from '../../src/outreach/coupons';

const coupon = { code: 'BDAY-7KQ2M9XW4T', value: '20', expiresAt: '2026-03-14' };
const full: TemplateVars = { name: '王哥', coupon, lastProduct: '耶加雪菲咖啡豆', store: '咖啡小店' };
const empty: TemplateVars = { name: null, coupon: null, lastProduct: null, store: '咖啡小店' };

describe('renderTemplate', () => {
  it('fills every variable', () => {
    expect(renderTemplate('{{name}}，生日快乐！{{store}}送您{{coupon.value}}元券 {{coupon.code}}，有效期至{{coupon.expiresAt}}。{{lastProduct}}', full)).toBe(
      '王哥，生日快乐！咖啡小店送您20元券 BDAY-7KQ2M9XW4T，有效期至2026-03-14。耶加雪菲咖啡豆',
    );
  });

  it('falls back for a missing or blank name and product, in the language of the template', () => {
    expect(renderTemplate('{{name}}，您常买的{{lastProduct}}该补货了', empty)).toBe('亲爱的顾客，您常买的常买的商品该补货了');
    expect(renderTemplate('Hi {{name}}, time for {{lastProduct}}?', { ...empty, name: '   ' })).toBe('Hi there, time for your usual?');
    // a name that is only braces is as good as none, and braces never survive from customer data
    expect(renderTemplate('Hi {{name}}', { ...empty, name: '{{}}' })).toBe('Hi there');
    expect(renderTemplate('Hi {{name}}', { ...empty, name: '{{name}} Wang' })).toBe('Hi name Wang');
  });

  it('never lets a raw {{ out', () => {
    expect(() => renderTemplate('Hi \\{{name}}', full)).toThrow(TemplateError);
    // a coupon variable with no coupon is an error (strict), not an empty string
    expect(() => renderTemplate('code {{coupon.code}}', empty)).toThrow(/could not be rendered/);
    expect(() => renderTemplate('{{nope}}', full)).toThrow(/unknown variable \{\{nope\}\}/);
  });

  it('escapes HTML only for email html', () => {
    const vars = { ...full, name: '<b>Tom & "Jerry"</b>' };
    expect(renderTemplate('<p>Hi {{name}}</p>', vars, 'html')).toBe('<p>Hi &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;</p>');
    expect(renderTemplate('Hi {{name}}', vars, 'text')).toBe('Hi <b>Tom & "Jerry"</b>');
  });

  it('renders SMS params positionally and email parts per part', () => {
    const c = parseCampaignConfig({
      ...DEFAULT_CAMPAIGNS.birthday,
      channels: ['sms', 'email'],
      templates: {
        sms: { templateId: '1110001', signName: '', params: ['{{name}}', '{{coupon.value}}', '{{coupon.code}}'] },
        email: { subject: 'Happy birthday {{name}}', text: 'Code {{coupon.code}}', html: '<p>{{name}}: <b>{{coupon.code}}</b></p>' },
      },
    });
    // one language for the campaign's fallbacks: its email is English, so the SMS says "there" too;
    // a marketing SMS ends with how to opt out
    expect(renderFor(c, 'sms', { ...empty, coupon }, '咖啡小店')).toEqual({
      text: 'there 20 BDAY-7KQ2M9XW4T Reply STOP to opt out',
      templateId: '1110001',
      signName: '咖啡小店',
      params: ['there', '20', 'BDAY-7KQ2M9XW4T'],
    });
    // params that are nothing but variables: the words are at the provider, in Chinese
    const smsOnly = parseCampaignConfig({ ...c, channels: ['sms'], templates: { sms: c.templates.sms } });
    expect(renderFor(smsOnly, 'sms', { ...empty, coupon }, '咖啡小店')).toMatchObject({ params: ['亲爱的顾客', '20', 'BDAY-7KQ2M9XW4T'], text: '亲爱的顾客 20 BDAY-7KQ2M9XW4T 拒收请回复R' });
    // unless the params say it already
    const saysIt = parseCampaignConfig({ ...smsOnly, templates: { sms: { ...smsOnly.templates.sms!, params: ['{{name}}', '回T退订'] } } });
    expect(renderFor(saysIt, 'sms', { ...empty, coupon }, null).text).toBe('亲爱的顾客 回T退订');
    expect(renderFor(c, 'email', { ...full, name: 'A&B' }, null)).toEqual({
      subject: 'Happy birthday A&B',
      text: 'Code BDAY-7KQ2M9XW4T',
      html: '<p>A&amp;B: <b>BDAY-7KQ2M9XW4T</b></p>',
    });
  });
});

describe('templateVariables (checked at PUT)', () => {
  it('lists the variables used', () => {
    expect([...templateVariables('{{name}} {{coupon.code}} {{! a comment }} {{store}}', 'text')].sort()).toEqual(['coupon.code', 'name', 'store']);
  });
  it.each([
    ['{{#if name}}x{{/if}}', /only plain variables/],
    ['{{> partial}}', /only plain variables/],
    ['{{lookup name 1}}', /no helpers or arguments/],
    ['{{@root.name}}', /no helpers or arguments/],
    ['{{../name}}', /no helpers or arguments/],
    ['{{coupon.secret}}', /unknown variable \{\{coupon.secret\}\}/],
    ['{{name', /not a valid template/],
    ['\\{{name}}', /literal/],
  ])('refuses %s', (src, msg) => {
    expect(() => templateVariables(src, 'text')).toThrow(msg);
  });
  it('refuses triple-stash in email html only', () => {
    expect(() => templateVariables('<p>{{{name}}}</p>', 'html')).toThrow(/unescaped HTML/);
    expect(templateVariables('{{{name}}}', 'text').has('name')).toBe(true);
  });
});

describe('coupon codes', () => {
  it('are a prefix and 10 characters of the 32-letter alphabet, all different', () => {
    const codes = Array.from({ length: 2000 }, () => generateCouponCode('BDAY-'));
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(new RegExp(`^BDAY-[${COUPON_ALPHABET}]{10}$`));
    // every character of the alphabet shows up: not a narrow or sequential generator
    expect(new Set(codes.join('').slice(0, 2000 * 15).replace(/BDAY-/g, '')).size).toBe(32);
  });
});

describe('store time', () => {
  const tz = 'Asia/Shanghai';
  it('23:30 UTC is already the next day in Shanghai', () => {
    expect(localDate(new Date('2026-03-14T23:30:00Z'), tz)).toBe('2026-03-15');
    expect(localDate(new Date('2026-03-14T15:59:59Z'), tz)).toBe('2026-03-14');
    expect(localDate(new Date('2026-03-14T16:00:00Z'), tz)).toBe('2026-03-15');
  });
  it('finds the instant of a store-local wall-clock time', () => {
    expect(zonedTime('2026-03-15', tz, '10:00').toISOString()).toBe('2026-03-15T02:00:00.000Z');
    expect(zonedTime('2026-03-15', tz).toISOString()).toBe('2026-03-14T16:00:00.000Z');
    expect(zonedTime('2026-03-08', 'America/New_York', '10:00').toISOString()).toBe('2026-03-08T14:00:00.000Z'); // after the DST jump
    expect(zonedTime('2026-03-07', 'America/New_York', '10:00').toISOString()).toBe('2026-03-07T15:00:00.000Z');
  });
  it('adds days and checks dates', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-2-1')).toBe(false);
  });
  it('greets 29 February birthdays on 28 February in other years, on the 29th in leap years', () => {
    expect(birthdayMonthDays('2026-02-28')).toEqual(['02-28', '02-29']);
    expect(birthdayMonthDays('2028-02-28')).toEqual(['02-28']);
    expect(birthdayMonthDays('2028-02-29')).toEqual(['02-29']);
    expect(birthdayMonthDays('2026-03-01')).toEqual(['03-01']);
  });
});
