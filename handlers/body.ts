// Reading request bodies for /api: size-capped, JSON only, with errors that say what is wrong.
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { DomainError, Invalid } from '../src/platform/errors';

/**
 * Stops reading a body we refused: answers with `Connection: close` and lets the rest of the
 * upload drain (a paused request would otherwise leave the client hanging), closing the socket
 * if the client keeps sending.
 */
export function abandonBody(ctx: Context): void {
  ctx.set('Connection', 'close');
  const req = ctx.req;
  req.unpipe();
  req.resume();
  const timer = setTimeout(() => req.socket?.destroy(), 10_000);
  timer.unref();
  req.once('close', () => clearTimeout(timer));
}

const human = (bytes: number) => (bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MB` : `${bytes / 1024} KB`);

/** The raw body, capped at `limit`: 413 when over it (declared or streamed), 400 when unreadable. */
export async function readRawBody(ctx: Context, limit: number): Promise<Buffer> {
  if (ctx.request.length && ctx.request.length > limit) {
    abandonBody(ctx);
    throw new DomainError('too_large', 'too_large', `body is over ${human(limit)}`);
  }
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.request.length });
  } catch (err) {
    abandonBody(ctx);
    if ((err as { type?: string }).type === 'entity.too.large') throw new DomainError('too_large', 'too_large', `body is over ${human(limit)}`);
    throw new DomainError('invalid', 'bad_body', 'could not read the request body');
  }
}

export async function readJson(ctx: Context, limit = 1024 * 1024): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new DomainError('unsupported', 'unsupported_media_type', 'send Content-Type: application/json');
  return parseJsonObject(await readRawBody(ctx, limit));
}

/** A body that must be one JSON object (for routes that need the raw bytes too, e.g. to check a signature). */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Invalid('body', 'is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Invalid('body', 'must be a JSON object');
  return parsed as Record<string, unknown>;
}

export const queryString = (v: unknown): string | undefined => (Array.isArray(v) ? v[0] : typeof v === 'string' ? v : undefined);
