// Campaign message templates, rendered with Handlebars. Only plain variables are allowed
// ({{name}}, {{coupon.code}}, {{coupon.value}}, {{coupon.expiresAt}}, {{lastProduct}}, {{store}}), checked
// when a campaign is saved; rendering is strict, every variable has a fallback (so no message goes out
// with an empty name), and the result is refused if it still holds a '{{' or '}}'. Email HTML is
// HTML-escaped; text, SMS params and WeCom text are not.
import Handlebars from 'handlebars';
import { DomainError } from '../platform/errors';

export const TEMPLATE_VARIABLES = ['name', 'coupon.code', 'coupon.value', 'coupon.expiresAt', 'lastProduct', 'store'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export const COUPON_VARIABLES: TemplateVariable[] = ['coupon.code', 'coupon.value', 'coupon.expiresAt'];

export type RenderMode = 'text' | 'html';

export interface TemplateVars {
  name: string | null;
  coupon: { code: string; value: string; expiresAt: string } | null;
  lastProduct: string | null;
  store: string;
}

/** What a missing value becomes: Chinese when the template is written in Chinese, English otherwise. */
export const FALLBACKS = {
  zh: { name: '亲爱的顾客', lastProduct: '常买的商品', store: '本店' },
  en: { name: 'there', lastProduct: 'your usual', store: 'our store' },
} as const;

/** A template that is not allowed or cannot render (campaigns.ts names the field when a PUT carries it). */
export class TemplateError extends DomainError {
  constructor(message: string) {
    super('invalid', 'bad_template', message);
    this.name = 'TemplateError';
  }
}

const hb = Handlebars.create();
const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
const BRACES = /\{\{|\}\}/;

type Node = hbs.AST.Statement & { type: string };

/** The variables a template uses; throws TemplateError naming what is not allowed. */
export function templateVariables(source: string, mode: RenderMode): Set<TemplateVariable> {
  let program: hbs.AST.Program;
  try {
    program = hb.parse(source);
  } catch (err) {
    throw new TemplateError(`is not a valid template: ${(err as Error).message.split('\n')[0]}`);
  }
  const used = new Set<TemplateVariable>();
  for (const node of program.body as Node[]) {
    if (node.type === 'ContentStatement') {
      if (BRACES.test((node as hbs.AST.ContentStatement).value)) throw new TemplateError("has a literal '{{' or '}}' (an escaped variable would go out raw)");
      continue;
    }
    if (node.type === 'CommentStatement') continue;
    if (node.type !== 'MustacheStatement') throw new TemplateError(`only plain variables like {{name}} are allowed (no blocks, partials or helpers); allowed: ${TEMPLATE_VARIABLES.join(', ')}`);
    const m = node as hbs.AST.MustacheStatement;
    const path = m.path as hbs.AST.PathExpression;
    if (path.type !== 'PathExpression' || m.params.length || (m.hash && m.hash.pairs.length) || path.data || path.depth) {
      throw new TemplateError(`only plain variables like {{name}} are allowed (no helpers or arguments); allowed: ${TEMPLATE_VARIABLES.join(', ')}`);
    }
    const name = path.original.replace(/^this\./, '');
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) throw new TemplateError(`unknown variable {{${path.original}}}; allowed: ${TEMPLATE_VARIABLES.join(', ')}`);
    if (mode === 'html' && !m.escaped) throw new TemplateError(`{{{${name}}}} would insert unescaped HTML; use {{${name}}}`);
    used.add(name as TemplateVariable);
  }
  return used;
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();

function compile(source: string, mode: RenderMode): HandlebarsTemplateDelegate {
  const key = `${mode}\u0000${source}`;
  let t = compiled.get(key);
  if (!t) {
    templateVariables(source, mode);
    t = hb.compile(source, { strict: true, noEscape: mode === 'text', knownHelpersOnly: true, knownHelpers: { helperMissing: false, blockHelperMissing: false } as Record<string, boolean> });
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(key, t);
  }
  return t;
}

/** A value from customer data, safe to insert: one line, no braces, trimmed; null when nothing is left. */
function clean(v: string | null | undefined, max: number): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).replace(/[{}]/g, '').replace(/\s+/g, ' ').trim().slice(0, max).trim();
  return s || null;
}

export type Language = keyof typeof FALLBACKS;

/**
 * The language of the fallbacks for these templates (all of one campaign): Chinese when any is written
 * in Chinese, English when they hold other words, Chinese when they hold nothing but variables (an SMS
 * template's words live at the provider; our stores are in China).
 */
export function templateLanguage(sources: string[]): Language {
  const words = sources.map((s) => s.replace(/\{\{[^}]*\}\}/g, ''));
  if (words.some((w) => CJK.test(w))) return 'zh';
  return words.some((w) => /\p{L}/u.test(w)) ? 'en' : 'zh';
}

/**
 * Renders one template for one customer. Missing values take their fallback (in `lang`, by default the
 * template's own language); a template that uses a coupon variable without a coupon, or output that
 * still holds '{{'/'}}', throws TemplateError.
 */
export function renderTemplate(source: string, vars: TemplateVars, mode: RenderMode = 'text', lang: Language = templateLanguage([source])): string {
  const fb = FALLBACKS[lang];
  const context = {
    name: clean(vars.name, 64) ?? fb.name,
    lastProduct: clean(vars.lastProduct, 120) ?? fb.lastProduct,
    store: clean(vars.store, 64) ?? fb.store,
    ...(vars.coupon ? { coupon: { code: vars.coupon.code, value: vars.coupon.value, expiresAt: vars.coupon.expiresAt } } : {}),
  };
  let out: string;
  try {
    out = compile(source, mode)(context);
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw new TemplateError(`could not be rendered: ${(err as Error).message.split('\n')[0]}`);
  }
  if (BRACES.test(out)) throw new TemplateError("rendered with a raw '{{' or '}}' left in it");
  return out;
}
