// SendGrid Inbound Parse with "POST the raw, full MIME message" on: always multipart/form-data,
// the whole RFC 822 message in the `email` field (beside `to`, `from`, `envelope`, `charsets`,
// `dkim`, `SPF`, `spam_score`…), so the same MIME parser reads it as every other path.
// SendGrid does not sign Inbound Parse posts by default: the route has a path token (checked by
// the handler) and its MX is a dedicated subdomain.
import type { InboundRequest } from '../channel';
import { FormError, parseForm } from './form';
import { parseRawEmail, type InboundEmailItem } from './mime';
import { defineEmailInboundProvider, EMAIL_ACK } from './provider';

/** Throws FormError (not a form, or raw mode is off) or MimeError (the message cannot be read). */
export async function parseSendGridRequest(req: InboundRequest, opts: { fieldSize: number }): Promise<InboundEmailItem> {
  const contentType = Array.isArray(req.headers['content-type']) ? req.headers['content-type'][0] : req.headers['content-type'];
  if (!/^\s*multipart\/form-data\s*;/i.test(contentType ?? '')) throw new FormError('SendGrid Inbound Parse posts multipart/form-data');
  const form = await parseForm(contentType, req.rawBody, { fieldSize: opts.fieldSize, keepFiles: ['email'] });
  const raw = form.fields.get('email');
  if (!raw || !raw.length) {
    const parsedMode = form.fields.has('text') || form.fields.has('html') || form.fields.has('headers');
    throw new FormError(
      parsedMode
        ? "no `email` field: this is a parsed post; turn on \"POST the raw, full MIME message\" for this Inbound Parse host"
        : 'no `email` field holding the raw MIME message',
    );
  }
  return parseRawEmail(raw, 'sendgrid');
}

export const sendgridEmail = defineEmailInboundProvider({
  id: 'sendgrid',
  label: 'SendGrid',
  env: {},
  loadConfig: () => ({}),
  webhook: {
    path: '/webhooks/email/sendgrid/:token',
    auth: { kind: 'path-token' },
    receive: async (req, _cfg, opts) => ({ item: await parseSendGridRequest(req, { fieldSize: opts.fieldSize }) }),
    ack: { body: EMAIL_ACK },
  },
});
