// Differential check for channels/wecom/xml.ts: the fast scanner must give exactly what xml2js
// gives (same value, same key order, same error) or step aside. Used by test/wecom-xml-differential.test.ts
// (a fixed seed, a few thousand documents) and bench/xml-equivalence.check.ts (as many as you like).
import { isDeepStrictEqual } from 'node:util';
import { Parser } from 'xml2js';
import { parseWeComXml, parseWeComXmlSync } from '../../channels/wecom/xml';

/** xml2js with the options parseWeComXml has always used: the reference. */
export async function reference(xml: string): Promise<{ value?: unknown; error?: string }> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return { error: 'DTD' };
  const parser = new Parser({ explicitArray: false, explicitRoot: false, explicitCharkey: false, trim: true, normalize: false, emptyTag: () => '', strict: true, async: false });
  try {
    const v = await parser.parseStringPromise(xml);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'no children' };
    return { value: v };
  } catch (err) {
    return { error: String((err as Error).message).split('\n')[0] };
  }
}

export async function actual(xml: string): Promise<{ value?: unknown; error?: string; fast: boolean }> {
  let fast = false;
  try {
    fast = parseWeComXmlSync(xml) !== null;
  } catch {
    // DTD refusal
  }
  try {
    return { value: await parseWeComXml(xml), fast };
  } catch (err) {
    const m = (err as Error).message;
    return { error: /DTD/.test(m) ? 'DTD' : /no children/.test(m) ? 'no children' : m.replace(/^malformed XML: /, ''), fast };
  }
}

// a small deterministic PRNG so a failure can be replayed
let seed = 42;
/** Restarts the generator at `s` (same seed, same documents). */
export function reseed(s: number): void {
  seed = s;
}
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];

const NAMES = ['ToUserName', 'FromUserName', 'CreateTime', 'MsgType', 'Content', 'MsgId', 'Item', 'A', 'b', 'x.y', 'a-b', '_u', 'toString', '__proto__', '_', '$', 'cdata', 'constructor'];
const TEXTS = ['hello', ' padded ', '', '  ', '\n', '1234567890123456789', '&amp;', 'a &lt; b', '&quot;x&apos;', '&#65;', '&bogus;', 'a & b', '中文', '\u00a0x\u00a0', 'a]]>b', '\r\n', 'x>y'];

function element(depth: number): string {
  const name = rnd() < 0.8 ? pick(NAMES.slice(0, 10)) : pick(NAMES);
  const r = rnd();
  if (r < 0.08) return `<${name}/>`;
  if (depth < 3 && r < 0.35) {
    const n = 1 + Math.floor(rnd() * 4);
    let inner = '';
    for (let k = 0; k < n; k++) inner += (rnd() < 0.3 ? pick([' ', '\n  ', '\t']) : '') + element(depth + 1);
    if (rnd() < 0.05) inner += pick(TEXTS);
    if (rnd() < 0.03) inner += '<![CDATA[]]>';
    return `<${name}>${inner}</${name}>`;
  }
  const parts = [];
  const n = 1 + Math.floor(rnd() * 2);
  for (let k = 0; k < n; k++) parts.push(rnd() < 0.5 ? `<![CDATA[${pick(TEXTS)}]]>` : pick(TEXTS));
  if (rnd() < 0.03) return `<${name} a="1">${parts.join('')}</${name}>`;
  if (rnd() < 0.03) return `<${name}><!-- c -->${parts.join('')}</${name}>`;
  return `<${name}>${parts.join('')}</${name}>`;
}

export function document(): string {
  let inner = '';
  const n = Math.floor(rnd() * 7);
  for (let k = 0; k < n; k++) inner += (rnd() < 0.2 ? '\n' : '') + element(1);
  const prefix = rnd() < 0.05 ? '<?xml version="1.0"?>' : rnd() < 0.1 ? ' \n' : '';
  const suffix = rnd() < 0.05 ? pick(['junk', '<y/>', '\n', '</xml>']) : '';
  return `${prefix}<xml>${inner}</xml>${suffix}`;
}

const ALPHABET = ['<', '>', '/', '!', '[', ']', '&', ';', 'C', 'D', 'A', 'T', 'x', 'm', 'l', ' ', '\n', '"', '=', '?', '-'];
export function mutate(s: string): string {
  const k = 1 + Math.floor(rnd() * 3);
  for (let m = 0; m < k; m++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const op = rnd();
    if (op < 0.4) s = s.slice(0, at) + pick(ALPHABET) + s.slice(at);
    else if (op < 0.8) s = s.slice(0, at) + s.slice(at + 1);
    else s = s.slice(0, at) + pick(ALPHABET) + s.slice(at + 1);
  }
  return s;
}

export const HAND_PICKED = [
  '<xml><MsgId>4561255354251345929</MsgId><Code><![CDATA[007]]></Code><Empty></Empty></xml>',
  '<xml><MemChangeList><Item>a</Item><Item>b</Item></MemChangeList></xml>',
  '<xml><A>a<![CDATA[b]]>c</A></xml>',
  '<xml>\n <A> <![CDATA[ x ]]> </A>\n</xml>',
  '<xml><A><B>1</B>text</A></xml>',
  '<xml><A><B>1</B><![CDATA[]]></A></xml>',
  '<xml><A><B>1</B><B>2</B><B>3</B></A></xml>',
  '<xml><A/><B></B><C> </C></xml>',
  '<xml></xml>',
  '<xml/>',
  '<xml>text</xml>',
  '',
  '   ',
  '\ufeff<xml><A>1</A></xml>',
  '<xml><A>x</A></xml>  junk',
  '<xml><A>x</A></xml><y/>',
  '<xml><toString>x</toString></xml>',
  '<xml><__proto__><polluted>1</polluted></__proto__></xml>',
  '<xml><A>x</B></xml>',
  '<xml><A>x</A>',
  '<xml><A>&amp;&lt;&gt;&quot;&apos;</A></xml>',
  '<xml><A>&#x41;</A></xml>',
  '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>',
  '<xml><A >x</A></xml>',
  '<xml><A>x</A ></xml>',
  '<xml><a:b>x</a:b></xml>',
];


/** The hand-picked documents plus `cases` random ones (half of them mutated). */
export function documents(cases: number, s = 42): string[] {
  reseed(s);
  const inputs: string[] = [...HAND_PICKED];
  for (let k = 0; k < cases; k++) {
    const d = document();
    inputs.push(rnd() < 0.5 ? d : mutate(d));
  }
  return inputs;
}

/** Null when both parsers agree on `xml`; else a description of the difference. */
export async function difference(xml: string): Promise<{ fast: boolean; diff: string | null }> {
  const [want, got] = await Promise.all([reference(xml), actual(xml)]);
  const same = want.error !== undefined ? got.error === want.error : isDeepStrictEqual(got.value, want.value) && JSON.stringify(got.value) === JSON.stringify(want.value);
  return { fast: got.fast, diff: same ? null : `for ${JSON.stringify(xml)}:\n  xml2js: ${JSON.stringify(want)}\n  ours:   ${JSON.stringify(got)}` };
}
