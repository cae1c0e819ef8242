// One-click unsubscribe (RFC 8058) and its page.
//   POST /unsubscribe/:token  mail clients post `List-Unsubscribe=One-Click` (form-encoded or
//                             multipart); our page posts `confirm=yes`. Records an email opt-out in
//                             the consent ledger, answers 200 at once, never redirects; a repeat
//                             adds nothing.
//   GET  /unsubscribe/:token  a plain page in Chinese and English with a confirm button. It never
//                             unsubscribes: mail scanners and link previewers fetch every URL.
// A token we did not sign → 404 page. The token is the only credential (the POST has no cookie).
import type Router from '@koa/router';
import type { Context } from 'koa';
import { fieldText, parseForm } from '../channels/email/form';
import { recordEmailUnsubscribe } from '../src/consent/consent';
import type { AppContext } from '../src/context';
import { verifyUnsubscribeToken } from '../src/consent/unsubscribe';
import { readRawBody } from './body';

const BODY_LIMIT = 64 * 1024;

const STYLE =
  'body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.6;color:#222}' +
  'h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}button{font-size:1rem;padding:.6rem 1.4rem;margin-top:1.5rem;cursor:pointer}';

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const CONFIRM = page(
  '退订邮件 / Unsubscribe',
  `<h1>退订营销邮件</h1>
<p>点击下面的按钮确认后，我们将不再向您发送营销邮件。</p>
<h2 lang="en">Unsubscribe from marketing email</h2>
<p lang="en">Press the button below to confirm, and we will stop sending you marketing email.</p>
<form method="post">
<input type="hidden" name="confirm" value="yes">
<button type="submit">确认退订 / Confirm unsubscribe</button>
</form>`,
);

const DONE = page(
  '已退订 / Unsubscribed',
  `<h1>您已退订</h1>
<p>我们不会再向您发送营销邮件。</p>
<h2 lang="en">You are unsubscribed</h2>
<p lang="en">We will not send you marketing email any more.</p>`,
);

const NOT_FOUND = page(
  '链接无效 / Link not valid',
  `<h1>链接无效</h1>
<p>这个退订链接无效或不完整，请从邮件中重新打开。</p>
<h2 lang="en">This link is not valid</h2>
<p lang="en">This unsubscribe link is not valid or is incomplete. Please open it again from the email.</p>`,
);

function html(ctx: Context, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Robots-Tag', 'noindex, nofollow');
  // the token is in the URL: never hand it to another site
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  ctx.body = body;
}

/** What the POST said, for the ledger: RFC 8058's body, our page's button, or anything else. */
async function evidenceOf(ctx: Context): Promise<string> {
  let body: Buffer;
  try {
    body = await readRawBody(ctx, BODY_LIMIT);
  } catch {
    // an unreadable or huge body does not make the POST to a signed link less of a request
    return 'POST to the unsubscribe link (body not read)';
  }
  try {
    const form = await parseForm(ctx.get('content-type'), body, { fieldSize: BODY_LIMIT, fields: 20, files: 0 });
    if (fieldText(form, 'List-Unsubscribe').trim() === 'One-Click') return 'List-Unsubscribe=One-Click';
    if (fieldText(form, 'confirm') === 'yes') return 'unsubscribe page: confirm button';
  } catch {
    // not a form: fall through
  }
  return 'POST to the unsubscribe link';
}

export function registerUnsubscribe(router: Router, app: AppContext): void {
  const cfg = app.config.email;

  router.get('/unsubscribe/:token', async (ctx) => {
    if (!verifyUnsubscribeToken(cfg, ctx.params.token)) return html(ctx, 404, NOT_FOUND);
    html(ctx, 200, CONFIRM);
  });

  router.post('/unsubscribe/:token', async (ctx) => {
    const who = verifyUnsubscribeToken(cfg, ctx.params.token);
    if (!who) return html(ctx, 404, NOT_FOUND);
    const evidence = await evidenceOf(ctx);
    const recorded = await recordEmailUnsubscribe(app.db, who.customerId, evidence, app.now());
    app.log.info({ customerId: who.customerId, recorded, evidence }, 'email unsubscribe');
    html(ctx, 200, DONE);
  });
}
