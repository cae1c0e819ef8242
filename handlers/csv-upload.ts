// A CSV upload for /api imports: the request body itself is the file (Content-Type text/csv), read
// as a stream — never held in memory — and capped at IMPORT_MAX_BYTES.
import { Transform, type Readable } from 'node:stream';
import type { Context } from 'koa';
import { DomainError } from '../src/platform/errors';
import { abandonBody } from './body';

export const IMPORT_MAX_BYTES = 200 * 1024 * 1024;
const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/vnd.ms-excel'];

/** Thrown into the stream when the upload passes the cap. */
const uploadTooLarge = () =>
  new DomainError('too_large', 'too_large', `the upload is over ${IMPORT_MAX_BYTES / 1024 / 1024} MB; rows before the limit were imported (importing again is safe)`);

export function csvUpload(ctx: Context): Readable {
  if (!ctx.is(CSV_TYPES)) {
    abandonBody(ctx);
    throw new DomainError('unsupported', 'unsupported_media_type', 'send the CSV file as the body with Content-Type: text/csv');
  }
  if (ctx.request.length && ctx.request.length > IMPORT_MAX_BYTES) {
    abandonBody(ctx);
    throw uploadTooLarge();
  }
  let seen = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > IMPORT_MAX_BYTES) return done(uploadTooLarge());
      done(null, chunk);
    },
  });
  ctx.req.on('error', (err) => cap.destroy(err));
  cap.on('error', () => abandonBody(ctx));
  return ctx.req.pipe(cap);
}
