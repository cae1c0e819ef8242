// Reading request bodies for /api: size-capped, JSON only, with errors that say what is wrong.
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { BadRequest } from '../src/paging';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function readJson(ctx: Context, limit = 1024 * 1024): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send Content-Type: application/json');
  let raw: string;
  try {
    raw = await getRawBody(ctx.req, { limit, length: ctx.request.length, encoding: 'utf8' });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new HttpError(413, 'too_large', `body is over ${limit} bytes`);
    throw new BadRequest('body', 'could not read the request body');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new BadRequest('body', 'is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadRequest('body', 'must be a JSON object');
  return parsed as Record<string, unknown>;
}

export const queryString = (v: unknown): string | undefined => (Array.isArray(v) ? v[0] : typeof v === 'string' ? v : undefined);
