// Safe XML for WeCom: DTDs and entity declarations are refused, every value stays a string
// (MsgId is 64-bit), CDATA or not; repeated elements become arrays.
//
// Two parsers, one result: WeCom sends plain XML (elements, text, CDATA, the five predefined
// entities), which a small scanner reads directly (xml2js was a fifth of the ingest CPU). Anything
// else it meets (attributes, comments, processing instructions, numeric character references,
// mixed content, odd names, trailing data, a malformed document) goes to xml2js, so the result
// and the errors stay exactly xml2js's for every input.
import { Parser } from 'xml2js';

/** XML we will not read: answered 400 `bad_xml` (`kind`/`code`: see src/platform/errors.ts). */
export class XmlError extends Error {
  readonly kind = 'invalid';
  readonly code = 'bad_xml';

  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [key: string]: XmlValue;
}

const FORBIDDEN = /<!DOCTYPE|<!ENTITY/i;

/** Parses `<xml>…</xml>` into a plain object of the root's children. */
export async function parseWeComXml(xml: string): Promise<XmlObject> {
  return parseWeComXmlSync(xml) ?? parseWithXml2js(xml);
}

/**
 * parseWeComXml for a document someone sent us: every failure is an XmlError (a refusal, 400
 * `bad_xml`), its message prefixed with `context` when given ("decrypted message: …").
 */
export async function parseWeComXmlRequest(xml: string, context?: string): Promise<XmlObject> {
  try {
    return await parseWeComXml(xml);
  } catch (err) {
    const message = err instanceof XmlError ? err.message : 'malformed XML';
    throw new XmlError(context ? `${context}: ${message}` : message);
  }
}

/**
 * The same result as parseWeComXml without a promise, or null when the document is outside the plain
 * subset and only xml2js can say what it means (call parseWeComXml then). Throws XmlError on a DTD.
 */
export function parseWeComXmlSync(xml: string): XmlObject | null {
  if (FORBIDDEN.test(xml)) throw new XmlError('XML with a DTD or entity declaration is refused');
  const root = scanPlainXml(xml);
  return root !== null && typeof root === 'object' && !Array.isArray(root) ? root : null;
}

async function parseWithXml2js(xml: string): Promise<XmlObject> {
  if (FORBIDDEN.test(xml)) throw new XmlError('XML with a DTD or entity declaration is refused');
  const parser = new Parser({
    explicitArray: false,
    explicitRoot: false,
    explicitCharkey: false,
    trim: true,
    normalize: false,
    emptyTag: () => '',
    strict: true,
    async: false,
  });
  let parsed: unknown;
  try {
    parsed = await parser.parseStringPromise(xml);
  } catch (err) {
    throw new XmlError(`malformed XML: ${String((err as Error).message).split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new XmlError('malformed XML: the root element has no children');
  }
  return parsed as XmlObject;
}

const LT = 0x3c; // <
const GT = 0x3e; // >
const SLASH = 0x2f; // /
const BANG = 0x21; // !

/** Names xml2js would store oddly (its own keys) or that live on Object.prototype: left to xml2js. */
const RESERVED_NAMES = new Set(['_', '$', 'cdata', '#name']);

function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f; // A-Z a-z _
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e; // 0-9 - .
}

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five predefined entities; null for any other `&` (xml2js decides those). */
function decodeText(raw: string): string | null {
  if (raw.indexOf('&') < 0) return raw;
  let out = '';
  let from = 0;
  for (let amp = raw.indexOf('&'); amp >= 0; amp = raw.indexOf('&', from)) {
    const semi = raw.indexOf(';', amp + 1);
    if (semi < 0 || semi - amp > 5) return null;
    const name = raw.slice(amp + 1, semi);
    if (!Object.prototype.hasOwnProperty.call(ENTITIES, name)) return null;
    out += raw.slice(from, amp) + ENTITIES[name];
    from = semi + 1;
  }
  return out + raw.slice(from);
}

interface Frame {
  name: string;
  children: XmlObject | null;
  text: string;
  cdata: boolean;
}

/** Adds a child as xml2js does with explicitArray off: the first stays a value, repeats make an array. */
function addChild(parent: Frame, name: string, value: XmlValue): void {
  const obj = (parent.children ??= {});
  const prev = obj[name];
  if (prev === undefined) obj[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else obj[name] = [prev, value];
}

/**
 * The root element's value (object of children, or a string) for a document made only of elements
 * without attributes, text, CDATA and the predefined entities; null for anything else.
 */
function scanPlainXml(xml: string): XmlValue | null {
  const len = xml.length;
  let i = 0;
  while (i < len && isXmlSpace(xml.charCodeAt(i))) i++;
  const stack: Frame[] = [];
  let result: XmlValue | null = null;
  while (i < len) {
    if (xml.charCodeAt(i) !== LT) {
      // text: only inside an element
      const top = stack[stack.length - 1];
      if (!top) return null;
      const lt = xml.indexOf('<', i);
      if (lt < 0) return null;
      const decoded = decodeText(xml.slice(i, lt));
      if (decoded === null) return null;
      top.text += decoded;
      i = lt;
      continue;
    }
    const c = xml.charCodeAt(i + 1);
    if (c === BANG) {
      if (!xml.startsWith('<![CDATA[', i) || stack.length === 0) return null; // comments, declarations
      const end = xml.indexOf(']]>', i + 9);
      if (end < 0) return null;
      const top = stack[stack.length - 1];
      top.text += xml.slice(i + 9, end);
      top.cdata = true;
      i = end + 3;
      continue;
    }
    if (c === SLASH) {
      const top = stack.pop();
      if (!top) return null;
      const nameEnd = i + 2 + top.name.length;
      if (!xml.startsWith(top.name, i + 2) || xml.charCodeAt(nameEnd) !== GT) return null;
      i = nameEnd + 1;
      let value: XmlValue;
      if (top.children) {
        if (top.cdata || top.text.trim() !== '') return null; // mixed content
        value = top.children;
      } else {
        value = top.text.trim();
      }
      const parent = stack[stack.length - 1];
      if (parent) addChild(parent, top.name, value);
      else {
        result = value;
        break;
      }
      continue;
    }
    if (!isNameStart(c)) return null; // processing instructions and anything malformed
    let j = i + 2;
    while (j < len && isNameChar(xml.charCodeAt(j))) j++;
    const name = xml.slice(i + 1, j);
    if (RESERVED_NAMES.has(name) || name in Object.prototype) return null;
    const after = xml.charCodeAt(j);
    if (after === GT) {
      stack.push({ name, children: null, text: '', cdata: false });
      i = j + 1;
    } else if (after === SLASH && xml.charCodeAt(j + 1) === GT) {
      const parent = stack[stack.length - 1];
      if (!parent) return null; // an empty root: xml2js explains
      addChild(parent, name, '');
      i = j + 2;
    } else {
      return null; // attributes, whitespace in the tag, or the end of input
    }
  }
  if (result === null) return null;
  for (; i < len; i++) if (!isXmlSpace(xml.charCodeAt(i))) return null; // trailing data: xml2js decides
  return result;
}

/** A child value as a string ('' when absent or not a plain text node). */
export function text(o: XmlObject, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : '';
}

/** A child that may occur once or many times, always as an array. */
export function many(o: XmlObject, key: string): XmlValue[] {
  const v = o[key];
  if (v === undefined || v === '') return [];
  return Array.isArray(v) ? v : [v];
}
