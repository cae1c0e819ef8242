// The raw RFC 822 message as the request body, any Content-Type: the China path, where our own MX
// or an IMAP poller posts each mail it receives. Unsigned: the route has a path token.
import { parseRawEmail } from './mime';
import { defineEmailInboundProvider, EMAIL_ACK } from './provider';

export const rawEmail = defineEmailInboundProvider({
  id: 'raw',
  label: 'raw MIME',
  env: {},
  loadConfig: () => ({}),
  webhook: {
    path: '/webhooks/email/raw/:token',
    auth: { kind: 'path-token' },
    receive: async (req) => ({ item: await parseRawEmail(req.rawBody, 'rfc822') }),
    ack: { body: EMAIL_ACK },
  },
});
