// The one error map: every refusal — ours, and the channels' own errors, which carry the same kind
// and code because channels/ cannot import src/ — becomes its status and `{ error: { code, message } }`
// in src/app.ts; anything else is a fault (null here, 500 in the app).
import { FormError } from '../../channels/email/form';
import { SignatureError } from '../../channels/email/mailgun.email';
import { MimeError } from '../../channels/email/mime';
import { ProviderError } from '../../channels/channel';
import { SmsPayloadError } from '../../channels/sms/common';
import { WeComCryptoError } from '../../channels/wecom/crypto';
import { XmlError, parseWeComXmlRequest } from '../../channels/wecom/xml';
import { errorAnswer, STATUS_OF } from '../../src/app';
import { IdentityTaken } from '../../src/customers/customer-edit';
import { TemplateError } from '../../src/outreach/templates';
import { Conflict, DomainError, ERROR_KINDS, Invalid, NotFound, PermanentError, refusalOf, Unavailable } from '../../src/platform/errors';

const answer = (err: unknown) => {
  const a = errorAnswer(err);
  return a && { status: a.status, ...a.body.error };
};

describe('the error map', () => {
  it('gives every kind its own status', () => {
    expect(ERROR_KINDS.map((k) => STATUS_OF[k])).toEqual([400, 401, 403, 404, 409, 413, 415, 503]);
  });

  it('answers domain errors with their code, naming the field of bad input', () => {
    expect(answer(new Invalid('limit', 'limit must be a whole number from 1 to 200'))).toEqual({
      status: 400,
      code: 'bad_request',
      message: 'limit: limit must be a whole number from 1 to 200',
    });
    expect(answer(new NotFound('no customer 9'))).toEqual({ status: 404, code: 'not_found', message: 'no customer 9' });
    expect(answer(new NotFound('not found', 'channel_off'))).toEqual({ status: 404, code: 'channel_off', message: 'not found' });
    expect(answer(new Conflict('not_failed', 'event 1 is processed'))).toEqual({ status: 409, code: 'not_failed', message: 'event 1 is processed' });
    expect(answer(new Unavailable('store_unavailable', 'please retry'))).toEqual({ status: 503, code: 'store_unavailable', message: 'please retry' });
    expect(answer(new DomainError('forbidden', 'bad_signature', 'X-Twilio-Signature does not match'))).toMatchObject({ status: 403, code: 'bad_signature' });
    expect(answer(new IdentityTaken('phone', '12'))).toEqual({ status: 409, code: 'identity_taken', message: 'phone: already belongs to customer 12' });
    expect(answer(new TemplateError('unknown variable {{x}}'))).toMatchObject({ status: 400, code: 'bad_template' });
  });

  it('answers the channels’ parse and signature errors by the kind and code they carry', () => {
    expect(answer(new SmsPayloadError('the body is an empty array'))).toEqual({ status: 400, code: 'bad_payload', message: 'the body is an empty array' });
    expect(answer(new FormError('no boundary'))).toEqual({ status: 400, code: 'bad_form', message: 'no boundary' });
    expect(answer(new MimeError('no From'))).toEqual({ status: 400, code: 'bad_mime', message: 'no From' });
    expect(answer(new XmlError('malformed XML'))).toEqual({ status: 400, code: 'bad_xml', message: 'malformed XML' });
    expect(answer(new SignatureError('stale_timestamp', 'too old'))).toEqual({ status: 401, code: 'stale_timestamp', message: 'too old' });
    expect(answer(new WeComCryptoError('receive_id_mismatch', 'another corp'))).toEqual({ status: 401, code: 'receive_id_mismatch', message: 'another corp' });
    expect(answer(new WeComCryptoError('undecryptable', 'not base64'))).toEqual({ status: 400, code: 'undecryptable', message: 'not base64' });
  });

  it('prefixes what a request’s XML failure was about', async () => {
    await expect(parseWeComXmlRequest('<xml><a>1</b></xml>', 'decrypted message')).rejects.toMatchObject({ code: 'bad_xml', message: expect.stringMatching(/^decrypted message: malformed XML/) });
  });

  it('leaves everything else a fault', () => {
    expect(errorAnswer(new Error('boom'))).toBeNull();
    expect(errorAnswer(new PermanentError('no OpenKfId'))).toBeNull();
    expect(errorAnswer(new ProviderError('timeout', 'timeout', false))).toBeNull();
    // a driver error has a string code but no kind
    expect(errorAnswer(Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY' }))).toBeNull();
    expect(refusalOf(Object.assign(new Error('x'), { kind: 'teapot', code: 'x' }))).toBeNull();
    expect(refusalOf({ kind: 'invalid', code: 'bad_request', message: 'not an Error' })).toBeNull();
  });
});
