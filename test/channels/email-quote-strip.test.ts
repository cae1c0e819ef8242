// Quote stripping: each mail client's way of quoting, in English and Chinese, and the things that
// look like a quote header but are the customer's own words.
import { findQuoteStart, normalizeReplyText, PARSER_INPUT_CHARS, stripQuotedReply } from '../../channels/email/quote-strip';

const NBSP = '\u00a0';

describe('stripQuotedReply', () => {
  it.each([
    ['Gmail English', 'Sounds good, thanks!\n\nOn Mon, Nov 23, 2026 at 9:00 PM Shop <hello@shop.example> wrote:\n> Your beans are ready.\n> See you\n', 'Sounds good, thanks!'],
    [
      'Gmail English, attribution wrapped over two lines',
      'Great.\n\nOn Mon, Nov 23, 2026 at 9:00 PM Touchpoint Coffee Shop <hello@shop.example>\nwrote:\n\n> Your beans are ready.\n',
      'Great.',
    ],
    ['Gmail Chinese', '好的，谢谢！\n\n在 2026年11月22日周日 上午10:00，好店 <hello@shop.example> 写道：\n\n> 会员日活动本周六举行。\n', '好的，谢谢！'],
    ['Gmail Chinese, wrapped', '我报名。\n\n在 2026年11月22日周日 10:00，好店 <hello@shop.example>\n写道：\n> 欢迎报名。\n', '我报名。'],
    ['Gmail Traditional Chinese', '收到。\n\n於 2026年11月22日 週日 10:00，好店 <hello@shop.example> 寫道：\n> 歡迎。\n', '收到。'],
    ['Apple Mail Chinese', '好\n\n2026年11月22日 10:00，好店 <hello@shop.example> 写道：\n\n> 内容\n', '好'],
    ['NetEase 163', '已收到\n\n在 2026-11-22 10:00:00，"好店" <hello@shop.example> 写道：\n>内容\n', '已收到'],
    [
      'Outlook English with the underscore rule',
      'Please cancel it.\n\nDave\n\n________________________________\nFrom: Shop <hello@shop.example>\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: Dave <dave@x.example>\nSubject: Order 1042\n\nThanks for your order!\n',
      'Please cancel it.\n\nDave',
    ],
    [
      'Outlook English without the rule, bold headers from HTML',
      'Fine by me.\n\n*From:* Shop <hello@shop.example>\n*Sent:* Tuesday, November 24, 2026 10:00 AM\n*To:* Dave\n*Subject:* Order\n\nold\n',
      'Fine by me.',
    ],
    [
      'Outlook Chinese, half-width colons',
      '请改成周五送货。\n\n发件人: 好店 <hello@shop.example>\n发送时间: 2026年11月24日 10:00\n收件人: 陈静 <c@corp.example>\n主题: 订单 1043\n\n您的订单已确认。\n',
      '请改成周五送货。',
    ],
    [
      'Outlook Chinese, full-width colons, 收件人 before 发送时间',
      '改期。\n\n发件人： 好店 <hello@shop.example>\n收件人： 陈静\n发送时间： 2026年11月24日 10:00\n主题： 订单\n\n旧\n',
      '改期。',
    ],
    ['Outlook Traditional Chinese', '謝謝\n\n寄件者: 好店 <hello@shop.example>\n寄件日期: 2026年11月24日 上午 10:00\n收件者: 陳靜\n主旨: 訂單\n\n舊\n', '謝謝'],
    [
      'QQ Mail / Foxmail with &nbsp; in the text part',
      '好的，我周六下午过来拿。\n\n\n------------------&nbsp;原始邮件&nbsp;------------------\n发件人: "好店"<hello@shop.example>;\n发送时间: 2026年11月20日(星期五) 上午10:00\n收件人: "王小明"<wxm@qq.example>;\n主题: 您的咖啡豆到货了\n\n您好，已到货。\n',
      '好的，我周六下午过来拿。',
    ],
    [
      'QQ Mail with U+00A0 (HTML turned to text)',
      `好的\n\n------------------${NBSP}原始邮件${NBSP}------------------\n发件人: "好店"<hello@shop.example>;\n`,
      '好的',
    ],
    ['QQ Mail with no spaces around the words', '收到\n------------------原始邮件------------------\n发件人: x\n', '收到'],
    ['-----Original Message-----', 'Thanks\n\n-----Original Message-----\nFrom: Shop\nSent: x\n\nold\n', 'Thanks'],
    ['----- 原始邮件 ----- (short dashes)', '好\n\n----- 原始邮件 -----\n发件人：好店\n', '好'],
    ['> quoted lines only after the reply', 'Yes please.\n\n> Would you like a refill?\n> Reply YES\n', 'Yes please.'],
    ['Chinese mobile signature', '谢谢，收到了。\n\n发自我的iPhone\n', '谢谢，收到了。'],
    ['Huawei signature below the reply and above the quote', '好的\n\n来自我的华为手机\n\n------------------ 原始邮件 ------------------\n发件人: 好店\n', '好的'],
    ['English mobile signature', 'ok\n\nSent from my iPhone\n', 'ok'],
    ['CRLF line ends', 'Yes\r\n\r\nOn Mon, Nov 23, 2026 at 9:00 PM Shop <hello@shop.example> wrote:\r\n> old\r\n', 'Yes'],
  ])('%s', (_name, input, expected) => {
    expect(stripQuotedReply(input)).toBe(expected);
  });

  it('keeps a plain message as it is', () => {
    const msg = '您好，\n\n我想预订两包咖啡豆，周六来取。\n\n谢谢\n王小明';
    expect(stripQuotedReply(msg)).toBe(msg);
  });

  it('does not cut at words that only look like a quote header', () => {
    // "写道" without a date, time or address is just a word; a From: line without Sent/Date is content
    const msg = '他在信里写道：\n这款豆子很好喝。\nFrom: my sister, who loved it\nand she wants more.';
    expect(stripQuotedReply(msg)).toBe(msg);
    const on = 'On Monday I will come by.\nThanks';
    expect(stripQuotedReply(on)).toBe(on);
  });

  it('a mobile-signature-only message keeps its one line', () => {
    expect(stripQuotedReply('发自我的iPhone')).toBe('发自我的iPhone');
  });

  it('returns an empty string when nothing is above the quote', () => {
    expect(stripQuotedReply('------------------ 原始邮件 ------------------\n发件人: 好店\n发送时间: x\n\nold')).toBe('');
    expect(stripQuotedReply('')).toBe('');
  });

  it('keeps a bottom-posted reply below > quotes', () => {
    expect(stripQuotedReply('> Would you like a refill?\n\nYes, two bags please.')).toBe('Yes, two bags please.');
  });

  it('is quick on a long message', () => {
    // 150,000 characters in 300 lines, then the quote
    const long = `${'这是一段很长的内容。'.repeat(50)}\n`.repeat(300) + '\n在 2026年11月22日 10:00，好店 <hello@shop.example> 写道：\n> old\n';
    const t = Date.now();
    const out = stripQuotedReply(long);
    expect(Date.now() - t).toBeLessThan(2_000);
    expect(out.startsWith('这是一段很长的内容。')).toBe(true);
    expect(out).not.toContain('写道');
    expect(out.length).toBeLessThanOrEqual(PARSER_INPUT_CHARS);
  });

  it('stays fast on a line built to make email-reply-parser backtrack (11.7 s unbounded)', () => {
    const t = Date.now();
    stripQuotedReply('On '.repeat(66_000));
    expect(Date.now() - t).toBeLessThan(1_000);
  });
});

describe('helpers', () => {
  it('normalizeReplyText turns &nbsp; and U+00A0 into spaces, CRLF into LF, and drops zero-width marks', () => {
    expect(normalizeReplyText(`a&nbsp;b&NBSP;c${NBSP}d\r\ne\rf\u200bg\ufeff`)).toBe('a b c d\ne\nfg');
  });

  it('findQuoteStart points at the first line of the quoted block', () => {
    const lines = ['hi', '', '-----Original Message-----', 'From: x'];
    expect(findQuoteStart(lines)).toBe(2);
    expect(findQuoteStart(['hi', 'there'])).toBe(2);
  });
});
