// HTML form bodies as inbound-mail providers post them: application/x-www-form-urlencoded (our own
// decoder) or multipart/form-data (busboy). Field values come back as the exact bytes sent, so a
// raw MIME message in a field (Mailgun `body-mime`, SendGrid `email`) keeps its 8-bit GBK intact;
// files are counted, never kept.
import busboy from 'busboy';

export interface FormFile {
  field: string;
  filename?: string;
  contentType: string;
  size: number;
}

export interface ParsedForm {
  /** first value of each field, as bytes */
  fields: Map<string, Buffer>;
  files: FormFile[];
}

/** The body is not a form we can read: answered 400 `bad_form` (`kind`/`code`: see src/platform/errors.ts). */
export class FormError extends Error {
  readonly kind = 'invalid';
  readonly code = 'bad_form';

  constructor(message: string) {
    super(message);
    this.name = 'FormError';
  }
}

export interface FormLimits {
  /** largest single field value, bytes */
  fieldSize: number;
  fields?: number;
  files?: number;
  /** file parts whose bytes are wanted anyway (kept as fields): a provider may send the raw MIME as a file */
  keepFiles?: string[];
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Percent-decoding to bytes ('+' is a space); a '%' not followed by two hex digits stays as it is. */
function decodeComponent(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.length);
  let j = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x2b) out[j++] = 0x20;
    else if (c === 0x25 && i + 2 < buf.length && isHex(buf[i + 1]) && isHex(buf[i + 2])) {
      out[j++] = parseInt(String.fromCharCode(buf[i + 1], buf[i + 2]), 16);
      i += 2;
    } else out[j++] = c;
  }
  return out.subarray(0, j);
}

function parseUrlEncoded(body: Buffer, limits: FormLimits): ParsedForm {
  const fields = new Map<string, Buffer>();
  let count = 0;
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x26, start); // '&'
    if (end < 0) end = body.length;
    const pair = body.subarray(start, end);
    start = end + 1;
    if (!pair.length) continue;
    if (++count > (limits.fields ?? 1000)) throw new FormError(`more than ${limits.fields ?? 1000} form fields`);
    const eq = pair.indexOf(0x3d); // '='
    const name = decodeComponent(eq < 0 ? pair : pair.subarray(0, eq)).toString('utf8');
    const value = eq < 0 ? Buffer.alloc(0) : decodeComponent(pair.subarray(eq + 1));
    if (value.length > limits.fieldSize) throw new FormError(`form field ${JSON.stringify(name.slice(0, 64))} is over ${limits.fieldSize} bytes`);
    if (!fields.has(name)) fields.set(name, value);
  }
  return { fields, files: [] };
}

function parseMultipart(contentType: string, body: Buffer, limits: FormLimits): Promise<ParsedForm> {
  return new Promise((resolve, reject) => {
    const fields = new Map<string, Buffer>();
    const files: FormFile[] = [];
    let failed = false;
    const fail = (message: string) => {
      if (!failed) (failed = true), reject(new FormError(message));
    };
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { 'content-type': contentType },
        // latin1 turns each byte into one character and back: the value's bytes survive untouched
        defCharset: 'latin1',
        defParamCharset: 'utf8',
        limits: { fieldSize: limits.fieldSize, fields: limits.fields ?? 1000, files: limits.files ?? 1000, parts: (limits.fields ?? 1000) + (limits.files ?? 1000) },
      });
    } catch (err) {
      return fail(`malformed multipart/form-data: ${(err as Error).message}`);
    }
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(`form field ${JSON.stringify(name.slice(0, 64))} is over ${limits.fieldSize} bytes`);
      // a part that declared its own charset was decoded with it: back to UTF-8 bytes then
      // (a character above U+00FF cannot have come from our latin1 reading)
      const bytes = /[^\u0000-\u00ff]/.test(value) ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1');
      if (!fields.has(name)) fields.set(name, bytes);
    });
    bb.on('file', (name, stream, info) => {
      const keep = limits.keepFiles?.includes(name) && !fields.has(name);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (keep) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (keep) fields.set(name, Buffer.concat(chunks));
        else files.push({ field: name, filename: info.filename || undefined, contentType: info.mimeType || 'application/octet-stream', size });
      });
    });
    bb.on('fieldsLimit', () => fail(`more than ${limits.fields ?? 1000} form fields`));
    bb.on('filesLimit', () => fail(`more than ${limits.files ?? 1000} files`));
    bb.on('partsLimit', () => fail('too many form parts'));
    bb.on('error', (err: Error) => fail(`malformed multipart/form-data: ${err.message}`));
    bb.on('close', () => {
      if (!failed) resolve({ fields, files });
    });
    bb.end(body);
  });
}

/** Reads a urlencoded or multipart body; anything else, or a torn one, is a FormError. */
export async function parseForm(contentType: string | undefined, body: Buffer, limits: FormLimits): Promise<ParsedForm> {
  const type = (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return parseUrlEncoded(body, limits);
  if (type === 'multipart/form-data') return parseMultipart(contentType!, body, limits);
  throw new FormError(`expected multipart/form-data or application/x-www-form-urlencoded, got ${type ? JSON.stringify(type.slice(0, 100)) : 'no Content-Type'}`);
}

/** A field as UTF-8 text ('' when absent). */
export const fieldText = (form: ParsedForm, name: string): string => form.fields.get(name)?.toString('utf8') ?? '';
