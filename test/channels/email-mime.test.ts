// Raw RFC 822 → InboundMessageItem, on MIME samples in test/fixtures/email: Chinese RFC 2047
// subjects, GBK / GB18030 / UTF-8 bodies, attachments, QQ / Gmail / Outlook quoted replies.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { htmlToText, LIMITS, MimeError, normalizeMessageId, parseHeaderList, parseRawEmail, sanitizeEmailHtml } from '../../channels/email/mime';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '../fixtures/email', name));

async function mimeError(p: Promise<unknown>): Promise<MimeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MimeError);
    return err as MimeError;
  }
  throw new Error('parsed without complaint');
}

describe('parseRawEmail', () => {
  it('GBK 8-bit body, GB2312 RFC 2047 subject and a GBK Q-encoded name', async () => {
    const item = await parseRawEmail(fixture('gbk-8bit.eml'), 'rfc822');
    expect(item).toMatchObject({
      type: 'message',
      channel: 'email',
      provider: 'rfc822',
      providerMessageId: '<gbk-0001@qq.example>',
      dedupKey: 'email:<gbk-0001@qq.example>',
      from: { email: 'wxm@qq.example', name: '王小明' },
      to: { email: 'hello@shop.example' },
      subject: '生日快乐！您的会员礼已到账',
      text: '您好，我想问一下会员礼什么时候可以用？\n另外，咖啡豆还有货吗？',
      sentAt: '2026-11-20T10:30:00.000Z',
      attachments: [],
      thread: { messageId: '<gbk-0001@qq.example>' },
    });
    expect(item.html).toBeUndefined();
    expect(item.truncated).toBeUndefined();
  });

  it('GBK sent with no charset at all (8-bit headers and body) is read as GB18030, not as U+FFFD', async () => {
    const item = await parseRawEmail(fixture('gbk-undeclared.eml'), 'rfc822');
    expect(item.subject).toBe('咖啡豆还有吗');
    expect(item.from).toEqual({ email: 'wxm@163.example', name: '王小明' });
    expect(item.text).toBe('您好，请问埃塞俄比亚的咖啡豆还有货吗？');
    expect(JSON.stringify(item)).not.toContain('\ufffd');
  });

  it('UTF-8 quoted-printable body, a folded two-word subject, and no Message-ID → sha256 of the raw bytes', async () => {
    const raw = fixture('utf8-qp-no-message-id.eml');
    const item = await parseRawEmail(raw, 'rfc822');
    expect(item.subject).toBe('收到 ☕会员卡');
    expect(item.text).toBe('你好！收到了，谢谢 ☕ 下周再来。\nThanks — see you next week.');
    expect(item.from).toEqual({ email: 'alice@example.org', name: 'Alice Chen' });
    expect(item.providerMessageId).toBeNull();
    expect(item.dedupKey).toBe(`email:sha256:${createHash('sha256').update(raw).digest('hex')}`);
    expect(item.thread).toBeUndefined();
  });

  it('attachments: metadata only (RFC 2231 Chinese filename, inline cid image), no bodies', async () => {
    const item = await parseRawEmail(fixture('attachment.eml'), 'rfc822');
    expect(item.subject).toBe('发票和照片');
    expect(item.attachments).toEqual([
      { filename: 'photo.png', contentType: 'image/png', size: 70, contentId: '<photo1@example.net>' },
      { filename: '发票.pdf', contentType: 'application/pdf', size: 2064 },
    ]);
    expect(item.text).toBe('请看附件里的发票。');
    // the cid image is neither inlined as data: nor kept as an <img>
    expect(item.html).toBe('<p>请看附件里的发票。</p><p></p>');
    const json = JSON.stringify(item);
    expect(json).not.toContain('JVBER'); // base64 of "%PDF"
    expect(json).not.toContain('data:');
    expect(Buffer.byteLength(json)).toBeLessThan(1_000);
  });

  it('QQ Mail reply (GB18030 base64, &nbsp; around 原始邮件): text without the quote, fullText with it, threading ids', async () => {
    const item = await parseRawEmail(fixture('qq-reply.eml'), 'rfc822');
    expect(item.from).toEqual({ email: 'wxm@qq.example', name: '王小明' });
    expect(item.subject).toBe('回复：您的咖啡豆到货了');
    expect(item.text).toBe('好的，我周六下午过来拿。');
    expect(item.fullText).toContain('------------------ 原始邮件 ------------------');
    expect(item.fullText).toContain('您好，您预订的咖啡豆已到货，欢迎来店自取。');
    expect(item.fullText).not.toContain('&nbsp;');
    expect(item.thread).toEqual({
      messageId: '<tencent_ABCDEF0123456789@qq.example>',
      inReplyTo: '<3f1c0a2e-0001@shop.example>',
      references: ['<3f1c0a2e-0001@shop.example>'],
    });
    expect(item.html).toContain('<b>发件人:</b>');
    expect(item.html).not.toContain('style=');
  });

  it('Gmail Chinese reply: wrapped 写道 attribution and > quotes gone; References kept in order', async () => {
    const item = await parseRawEmail(fixture('gmail-zh-reply.eml'), 'rfc822');
    expect(item.text).toBe('我报名参加，两个人。');
    expect(item.subject).toBe('Re: 会员日活动');
    expect(item.thread).toEqual({
      messageId: '<CAGmail0001=zh@mail.gmail.example>',
      inReplyTo: '<3f1c0a2e-0002@shop.example>',
      references: ['<3f1c0a2e-0000@shop.example>', '<3f1c0a2e-0002@shop.example>'],
    });
    expect(item.html).toContain('<blockquote>');
    expect(item.html).not.toContain('class=');
  });

  it('Gmail English reply with the attribution wrapped over two lines; address lower-cased, name kept', async () => {
    const item = await parseRawEmail(fixture('gmail-en-reply.eml'), 'rfc822');
    expect(item.from).toEqual({ email: 'carol.smith@gmail.example', name: 'Carol Smith' });
    expect(item.text).toBe('Great, I will pick them up on Saturday.');
    expect(item.sentAt).toBe('2026-11-24T12:45:00.000Z');
  });

  it('Outlook English (windows-1252 QP, underscore rule + From/Sent block) and Outlook Chinese (发件人/发送时间)', async () => {
    const en = await parseRawEmail(fixture('outlook-reply.eml'), 'rfc822');
    expect(en.text).toBe('Please cancel it – I ordered twice by mistake.\n\nDave');
    expect(en.fullText).toContain('Thanks for your order!');
    const zh = await parseRawEmail(fixture('outlook-zh-reply.eml'), 'rfc822');
    expect(zh.text).toBe('请帮我改成周五送货。');
    expect(zh.subject).toBe('答复: 订单 1043');
    expect(zh.from.name).toBe('陈静');
  });

  it('HTML-only mail: sanitised (no script, handlers, styles, images or javascript: links), text made from it and stripped', async () => {
    const item = await parseRawEmail(fixture('html-only.eml'), 'rfc822');
    expect(item.html).not.toMatch(/script|onclick|<img|javascript:|<style|ignored title|tracker/i);
    expect(item.html).toContain('<a href="https://shop.example/p?a=1&amp;b=2" rel="noopener noreferrer nofollow" target="_blank">good</a>');
    expect(item.text).toBe('周末有空吗？& bold bad good');
    expect(item.fullText).toContain('原始邮件');
    expect(item.fullText).toContain('旧内容');
  });

  it('a reply with nothing above the quote keeps the whole text as its text', async () => {
    const raw = Buffer.from('From: a@example.org\r\nSubject: Fwd\r\n\r\n-----Original Message-----\r\nFrom: Shop\r\nSent: today\r\n\r\nold words\r\n');
    const item = await parseRawEmail(raw, 'rfc822');
    expect(item.text).toContain('old words');
    expect(item.text).toBe(item.fullText);
  });

  it('an mbox "From " envelope line before the headers is skipped', async () => {
    const raw = Buffer.concat([Buffer.from('From wxm@qq.example Fri Nov 20 18:30:00 2026\n'), fixture('gbk-8bit.eml')]);
    const item = await parseRawEmail(raw, 'rfc822');
    expect(item.dedupKey).toBe('email:<gbk-0001@qq.example>');
  });

  it('caps text, fullText, html and subject, and says what it cut', async () => {
    const para = '这是一段很长的正文，用来测试截断。'.repeat(20);
    const body = `${para}\n`.repeat(1_200); // ~400,000 characters, no quote
    const html = `<div>${'<p>很长的HTML</p>'.repeat(120_000)}</div>`;
    const raw = Buffer.from(
      [
        'From: long@example.org',
        `Subject: ${'长'.repeat(1_200)}`,
        'Message-ID: <long-1@example.org>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="x"',
        '',
        '--x',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        body,
        '--x',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        html,
        '--x--',
        '',
      ].join('\r\n'),
    );
    const item = await parseRawEmail(raw, 'rfc822');
    expect(item.text.length).toBeLessThanOrEqual(LIMITS.text);
    expect(item.fullText!.length).toBe(LIMITS.fullText);
    expect(item.html!.length).toBeLessThanOrEqual(LIMITS.html);
    expect(item.html!.endsWith('</div>')).toBe(true); // cut, then closed again
    expect(item.subject!.length).toBe(LIMITS.subject);
    expect(item.truncated).toEqual(expect.arrayContaining(['text', 'fullText', 'html', 'subject']));
    // what goes into inbound_event.payload stays well under MariaDB's 16 MB max_allowed_packet
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(4 * 1024 * 1024);
  });

  it('worst case for the stored size: 3-byte and 4-byte characters and control characters everywhere', async () => {
    const text = '中\u0001😀\u0007'.repeat(150_000);
    const html = `<p>${'😀中\u0002'.repeat(400_000)}</p>`;
    const raw = Buffer.from(
      `From: worst@example.org\r\nSubject: ${'中\u0003'.repeat(2_000)}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="x"\r\n\r\n` +
        `--x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n--x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n--x--\r\n`,
    );
    const item = await parseRawEmail(raw, 'rfc822');
    const json = JSON.stringify(item);
    expect(json).not.toMatch(/\\u000[1-7]/);
    expect(Buffer.byteLength(json)).toBeLessThan(1.5 * 1024 * 1024);
    expect(item.truncated).toEqual(expect.arrayContaining(['text', 'fullText', 'html', 'subject']));
  });

  it('a text cut does not split a surrogate pair', async () => {
    const raw = Buffer.from(`From: e@example.org\r\nSubject: emoji\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${'a'.repeat(LIMITS.text - 1)}😀😀\r\n`);
    const item = await parseRawEmail(raw, 'rfc822');
    expect(item.text).toBe('a'.repeat(LIMITS.text - 1));
    expect(item.truncated).toContain('text');
  });

  it.each([
    ['an empty body', Buffer.alloc(0), /empty/],
    ['text that is not a message', Buffer.from('hello, this is not an email\r\n'), /does not start with a mail header/],
    ['JSON', Buffer.from('{"from":"a@b.c"}'), /does not start with a mail header/],
    ['a message without From', Buffer.from('Subject: hi\r\nTo: hello@shop.example\r\n\r\nbody\r\n'), /no From address/],
    ['a From without an address', Buffer.from('From: Just A Name\r\nSubject: hi\r\n\r\nbody\r\n'), /no From address/],
  ])('refuses %s with a MimeError that says why', async (_name, raw, message) => {
    const err = await mimeError(parseRawEmail(raw, 'rfc822'));
    expect(err.message).toMatch(message);
  });
});

describe('helpers', () => {
  it('normalizeMessageId brackets exactly once and refuses junk', () => {
    expect(normalizeMessageId('abc@x')).toBe('<abc@x>');
    expect(normalizeMessageId(' <<abc@x>> ')).toBe('<abc@x>');
    expect(normalizeMessageId('')).toBeNull();
    expect(normalizeMessageId('a b@x')).toBeNull();
    expect(normalizeMessageId(undefined)).toBeNull();
  });

  it('sanitizeEmailHtml keeps links and tables, drops everything active', () => {
    const out = sanitizeEmailHtml(
      '<table style="x"><tr><td colspan="2" onmouseover="x()">a</td></tr></table><a href="mailto:a@b.c">m</a><a href="data:text/html,x">d</a><iframe src="https://x"></iframe><form><input></form><svg><script>1</script></svg>',
    );
    expect(out).toBe('<table><tr><td colspan="2">a</td></tr></table><a href="mailto:a@b.c" rel="noopener noreferrer nofollow" target="_blank">m</a><a rel="noopener noreferrer nofollow" target="_blank">d</a>');
  });

  it('htmlToText breaks lines at blocks and marks blockquotes with >', () => {
    expect(htmlToText('<div>one<br />two</div><blockquote><p>old</p><p>older</p></blockquote><p>a &amp; b &lt;c&gt;</p>')).toBe('one\ntwo\n> old\n> older\na & b <c>');
  });

  it('parseHeaderList reads RFC 2047 words, addresses, dates and ids from name/value pairs', async () => {
    const parsed = await parseHeaderList([
      ['From', '=?UTF-8?B?5byg5LiJ?= <ZhangSan@Example.org>'],
      ['Subject', '=?GB2312?B?yfrI1b/swNY=?='],
      ['Message-Id', '<mg-1@example.org>'],
      ['In-Reply-To', '<3f1c0a2e-0009@shop.example>'],
      ['Date', 'Fri, 20 Nov 2026 18:30:00 +0800'],
      ['Content-Type', 'multipart/mixed; boundary="ignored"'],
      ['X-Evil', 'a\r\nBcc: injected@example.org'],
    ]);
    expect(parsed.from?.value[0]).toEqual({ address: 'ZhangSan@Example.org', name: '张三' });
    expect(parsed.subject).toBe('生日快乐');
    expect(parsed.messageId).toBe('<mg-1@example.org>');
    expect(parsed.inReplyTo).toBe('<3f1c0a2e-0009@shop.example>');
    expect(parsed.date?.toISOString()).toBe('2026-11-20T10:30:00.000Z');
    expect(parsed.headers.get('bcc')).toBeUndefined();
  });
});
