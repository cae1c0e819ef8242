// Safe XML for WeCom: DTDs and entity declarations are refused, every value stays a string
// (MsgId is 64-bit), CDATA or not; repeated elements become arrays.
import { Parser } from 'xml2js';

export class XmlError extends Error {
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
