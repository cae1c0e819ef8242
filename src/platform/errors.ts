// The domain's errors. A refusal carries a kind (what went wrong, for any caller), a machine code
// (what the API answers in `error.code`) and a message that says what is wrong; `invalid` names the
// field. src/app.ts turns a kind into an HTTP status and the `{ error: { code, message } }` body, in
// one place; no route converts errors itself.
//
// channels/ cannot import src/: its errors (SmsPayloadError, MimeError, XmlError, …) carry the same
// `kind` and `code` properties, and refusalOf() reads them off any error; a provider module's
// webhook refusal (channels/channel.ts `Refusal`, the same kinds) is thrown as refused(r).

export const ERROR_KINDS = ['invalid', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'unsupported', 'unavailable'] as const;

/**
 *   invalid       the input is wrong (names the field where there is one)
 *   unauthorized  the caller did not prove who it is (signature, token)
 *   forbidden     the caller is known, or the request well-formed, but it is refused
 *   not_found     no such thing (or a secret path that was not guessed)
 *   conflict      the request is fine but the state does not allow it (taken, disabled, not failed …)
 *   too_large     the body is over its cap
 *   unsupported   a media type we do not read
 *   unavailable   we cannot take it now (a store is down, a feature is off): try again later
 */
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** An error any layer may throw to refuse something: its kind, code and message are what the caller sees. */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    /** the input field that is wrong; the answer reads `<field>: <message>` */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Bad input, naming the field (`limit`, `template.params`, `body` …); code `bad_request`. */
export class Invalid extends DomainError {
  declare readonly field: string;

  constructor(field: string, message: string) {
    super('invalid', 'bad_request', message, field);
    this.name = 'Invalid';
  }
}

export class NotFound extends DomainError {
  constructor(message: string, code = 'not_found') {
    super('not_found', code, message);
    this.name = 'NotFound';
  }
}

export class Conflict extends DomainError {
  constructor(code: string, message: string) {
    super('conflict', code, message);
    this.name = 'Conflict';
  }
}

export class Unavailable extends DomainError {
  constructor(code: string, message: string) {
    super('unavailable', code, message);
    this.name = 'Unavailable';
  }
}

/** What the error map needs from a refusal. */
export interface Refusal {
  kind: ErrorKind;
  code: string;
  message: string;
  field?: string;
}

const KINDS: ReadonlySet<string> = new Set(ERROR_KINDS);

/** The refusal an error carries (ours or a channel's), or null for anything else — a fault, answered 500. */
export function refusalOf(err: unknown): Refusal | null {
  if (!(err instanceof Error)) return null;
  const { kind, code, field } = err as Error & { kind?: unknown; code?: unknown; field?: unknown };
  if (typeof kind !== 'string' || !KINDS.has(kind) || typeof code !== 'string' || !code) return null;
  return { kind: kind as ErrorKind, code, message: err.message, ...(typeof field === 'string' && field ? { field } : {}) };
}

/** A refusal given as a value (a provider module's, channels/channel.ts) as the error src/app.ts answers. */
export function refused(r: Refusal): DomainError {
  return new DomainError(r.kind, r.code, r.message, r.field);
}

/** A failure that retrying cannot fix: a job marks its event failed at once instead of retrying. */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}
