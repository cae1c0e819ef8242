// SMS opt-out / opt-in keywords: the whole message decides; width, case and the spaces,
// punctuation and symbols around the word do not.
import { classifySmsKeyword, normalizeKeyword } from '../../src/consent/sms-keywords';

const OPT_OUT = ['R', 'TD', 'T', 'N', '退订', '拒收', 'STOP', 'UNSUBSCRIBE', 'END', 'QUIT', 'STOPALL', 'CANCEL', 'OPTOUT', 'REVOKE'];
const OPT_IN = ['START', 'YES', 'UNSTOP'];

/** ASCII → full-width forms (Ａ-Ｚ, ａ-ｚ), as a Chinese IME types them. */
const fullWidth = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

describe('classifySmsKeyword', () => {
  it.each(OPT_OUT)('%s opts out, in upper, lower and mixed case', (word) => {
    expect(classifySmsKeyword(word)).toBe('opt_out');
    expect(classifySmsKeyword(word.toLowerCase())).toBe('opt_out');
    expect(classifySmsKeyword(word[0] + word.slice(1).toLowerCase())).toBe('opt_out');
  });

  it.each(OPT_IN)('%s opts back in, in any case', (word) => {
    expect(classifySmsKeyword(word)).toBe('opt_in');
    expect(classifySmsKeyword(word.toLowerCase())).toBe('opt_in');
  });

  it.each([...OPT_OUT, ...OPT_IN].filter((w) => /^[A-Z]+$/.test(w)))('full-width %s is the same keyword', (word) => {
    const expected = OPT_IN.includes(word) ? 'opt_in' : 'opt_out';
    expect(classifySmsKeyword(fullWidth(word))).toBe(expected);
    expect(classifySmsKeyword(fullWidth(word.toLowerCase()))).toBe(expected);
  });

  it.each([
    ['ＴＤ', 'opt_out'],
    ['ｔｄ', 'opt_out'],
    ['Ｒ', 'opt_out'],
    ['「退订。」', 'opt_out'],
    ['退订。', 'opt_out'],
    ['退订！', 'opt_out'],
    ['【退订】', 'opt_out'],
    ['“拒收”', 'opt_out'],
    ['stop!', 'opt_out'],
    ['Stop.', 'opt_out'],
    ['"STOP"', 'opt_out'],
    ['  r  ', 'opt_out'],
    ['\tT\n', 'opt_out'],
    ['退订\r\n', 'opt_out'],
    ['\u3000退订\u3000', 'opt_out'], // ideographic space
    ['\u200bTD\u200b', 'opt_out'], // zero-width space
    ['\ufeffN', 'opt_out'], // BOM
    ['ＳＴＯＰ！！', 'opt_out'],
    ['退订🙏', 'opt_out'],
    ['...unsubscribe...', 'opt_out'],
    ['yes!', 'opt_in'],
    ['Ｙｅｓ。', 'opt_in'],
    [' start ', 'opt_in'],
  ])('%j → %s', (text, expected) => {
    expect(classifySmsKeyword(text)).toBe(expected);
  });

  it.each([
    '我要退订', // a sentence containing the word is not the keyword
    '不要退订',
    '退订了吗？',
    'please stop',
    'stop it',
    'STOP ALL', // Twilio's keyword is STOPALL, one word
    'T D',
    '退 订',
    'TDD',
    'RR',
    'STOPP',
    'NO',
    'Y',
    'HELP',
    'INFO',
    '好的',
    '谢谢',
    '收到',
    '?',
    '',
    '   ',
    '。。。',
  ])('%j is not a keyword', (text) => {
    expect(classifySmsKeyword(text)).toBeNull();
  });

  it('never matches inside a long message, and long padding around the word does not hide it', () => {
    expect(classifySmsKeyword(`${'谢谢你们的咖啡豆，'.repeat(10)}退订`)).toBeNull();
    expect(classifySmsKeyword(`STOP${' '.repeat(500)}`)).toBe('opt_out');
    expect(classifySmsKeyword(`${'。'.repeat(500)}退订${'！'.repeat(500)}`)).toBe('opt_out');
  });

  it('tolerates values that are not strings', () => {
    expect(classifySmsKeyword(null)).toBeNull();
    expect(classifySmsKeyword(undefined)).toBeNull();
    expect(classifySmsKeyword(42 as unknown as string)).toBeNull();
  });

  it('normalizeKeyword folds width and case and trims the edges only', () => {
    expect(normalizeKeyword('  ｓｔｏｐ！ ')).toBe('STOP');
    expect(normalizeKeyword('「退 订」')).toBe('退 订');
  });
});
