// A real SMTP server (smtp-server) on 127.0.0.1:0 for the tests: STARTTLS off, every message's
// raw bytes captured, and told on demand to refuse a recipient or the data with a given reply
// (550 mailbox unavailable, 451 local error…), or to insist on a login. Not an HTTP fake, so not a
// FakeServer, but shaped like one: the capture, scripted refusals, close() and env().
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface CapturedMail {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
}

type Stage = 'rcpt' | 'data';

export interface FakeSmtp {
  port: number;
  /** smtp://127.0.0.1:<port> (with the credentials when the server wants a login) */
  url: string;
  messages: CapturedMail[];
  /** the From address env() gives Touchpoint (EMAIL_FROM) */
  from: string;
  /** answer `code text` at `stage` until told otherwise (`null` = accept again) */
  refuse(stage: Stage, reply: { code: number; text: string } | null): void;
  /** Touchpoint sending email through this fake: SMTP_URL and EMAIL_FROM. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startFakeSmtp(opts: { auth?: { user: string; pass: string }; from?: string } = {}): Promise<FakeSmtp> {
  const messages: CapturedMail[] = [];
  const refusals: Partial<Record<Stage, { code: number; text: string }>> = {};
  const refusal = (stage: Stage) => {
    const r = refusals[stage];
    if (!r) return null;
    const err = new Error(r.text) as Error & { responseCode: number };
    err.responseCode = r.code;
    return err;
  };

  const server = new SMTPServer({
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    logger: false,
    size: 30 * 1024 * 1024,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      const err = new Error('5.7.8 Authentication credentials invalid') as Error & { responseCode: number };
      err.responseCode = 535;
      return cb(err);
    },
    onRcptTo(_address: SMTPServerAddress, _session, cb) {
      cb(refusal('rcpt'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const err = refusal('data');
        if (err) return cb(err);
        messages.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        cb(null);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', () => undefined);
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo).port;
  const cred = opts.auth ? `${encodeURIComponent(opts.auth.user)}:${encodeURIComponent(opts.auth.pass)}@` : '';
  const fake: FakeSmtp = {
    port,
    url: `smtp://${cred}127.0.0.1:${port}`,
    messages,
    from: opts.from ?? '"好店" <hello@shop.example>',
    refuse(stage, reply) {
      if (reply) refusals[stage] = reply;
      else delete refusals[stage];
    },
    env: () => ({ SMTP_URL: fake.url, EMAIL_FROM: fake.from }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}
