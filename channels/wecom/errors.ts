/** An error code WeCom answered with (`errcode` ≠ 0), with the API path it came from. */
export class WeComApiError extends Error {
  constructor(
    readonly code: number,
    readonly apiMessage: string,
    readonly path: string,
    /** for 45009: how long WeCom's window still blocks this API (ms) */
    readonly retryAfterMs?: number,
  ) {
    super(`WeCom ${path} failed: errcode ${code} (${apiMessage})`);
    this.name = 'WeComApiError';
  }

  /** token expired or invalid: refresh the access token and replay once */
  get isTokenError(): boolean {
    return this.code === 40014 || this.code === 42001 || this.code === 41001;
  }

  /** worth retrying later (system busy, frequency or concurrency limits) */
  get isTransient(): boolean {
    return this.code === -1 || this.code === 45009 || this.code === 45033;
  }
}

/** WeCom could not be reached or answered with something other than its JSON envelope. */
export class WeComTransportError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WeComTransportError';
  }
}
