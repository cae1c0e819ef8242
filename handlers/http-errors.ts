import type { Context } from 'koa';

/** Every error answer has one shape: `{ error: { code, message } }`. */
export function fail(ctx: Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.body = { error: { code, message } };
}
