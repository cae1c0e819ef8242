// The base of the HTTP provider fakes: a server on an ephemeral port of 127.0.0.1, every request
// captured with its body, answers scripted for the next calls (each fake says what a script means
// to it: a provider error, a raw HTTP status and body, a hang), and close() that ends open
// connections and pending hangs. Each fake also gives `env()`: the settings that point Touchpoint
// at it, so tests spread `fake.env()` instead of repeating the variables.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake received it. */
export interface FakeRequest {
  method: string;
  /** the request target as sent (path and query) */
  url: string;
  /** the URL path, without the query */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Date.now() when it arrived */
  at: number;
}

export abstract class FakeServer<Script = never> {
  /** http://127.0.0.1:<port>, set once the fake listens */
  base = '';
  /** every request, in arrival order */
  readonly requests: FakeRequest[] = [];
  private readonly scripts: { script: Script; n: number }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server = http.createServer((req, res) => {
    this.receive(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake failed: ${err.stack ?? err.message}`);
    });
  });

  /** The environment variables that point Touchpoint at this fake. */
  abstract env(): Record<string, string>;

  /** Answers one request (its body already read and captured in `requests`). */
  protected abstract handle(req: FakeRequest, res: http.ServerResponse): Promise<void> | void;

  /** Listens on an ephemeral port of 127.0.0.1 and sets `base`. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Stops listening, ends open connections and drops pending hangs. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Queues `script` for the next `n` calls it applies to, after the scripts queued before it. */
  protected enqueue(script: Script, n = 1): void {
    this.scripts.push({ script, n });
  }

  /** The first queued script that applies to this call (all do unless `applies` says otherwise), used once. */
  protected nextScript(applies: (script: Script) => boolean = () => true): Script | undefined {
    const i = this.scripts.findIndex((s) => applies(s.script));
    if (i < 0) return undefined;
    const entry = this.scripts[i];
    if (--entry.n <= 0) this.scripts.splice(i, 1);
    return entry.script;
  }

  /** Waits `ms` (a scripted hang); close() drops the wait, and the connection with it. */
  protected delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Answers with a status, a content type and a body as is. */
  protected send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer): void {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  }

  /** Answers with a status and `value` as JSON. */
  protected sendJson(res: http.ServerResponse, status: number, value: unknown, contentType = 'application/json'): void {
    this.send(res, status, contentType, JSON.stringify(value));
  }

  private async receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: FakeRequest = {
      method: req.method ?? '',
      url: req.url ?? '/',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks),
      at: Date.now(),
    };
    this.requests.push(request);
    await this.handle(request, res);
  }
}
