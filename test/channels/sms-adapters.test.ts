// The three SMS adapters against their local fakes (which check the SDKs' real request signing and
// answer with the documented bodies and error codes), the Twilio signature against the official
// vectors, and the helpers every adapter shares.
import { createHmac } from 'node:crypto';
import { ProviderError, type OutboundSms } from '../../channels/channel';
import { createSmsAdapter } from '../../channels/sms';
import { AliyunSmsAdapter, aliyunPhoneNumber } from '../../channels/sms/aliyun.sms';
import { beijingTimeToIso, hasOptOutInstruction, unixToBeijingIso } from '../../channels/sms/common';
import { toE164 } from '../../channels/sms/phone';
import { TencentSmsAdapter } from '../../channels/sms/tencent.sms';
import { TwilioSmsAdapter, twilioSignature, twilioUrlVariants, validateTwilioSignature, validateTwilioSignatureWithBody } from '../../channels/sms/twilio.sms';
import { loadSmsConfig } from '../../config/sms';
import { startFakeAliyunSms, type FakeAliyunSms } from '../fakes/aliyun-sms.fake';
import { startFakeTencentSms, type FakeTencentSms } from '../fakes/tencent-sms.fake';
import { startFakeTwilio, type FakeTwilio } from '../fakes/twilio.fake';
import { readVectors, vectorFileSha256, VECTOR_FILES } from '../support/vectors';

// the published vectors, copied into test/fixtures/vectors from ../shared/vectors (checked unchanged below)
const vectors = readVectors('sms-email.json');

const sms = (over: Partial<OutboundSms> = {}): OutboundSms => ({
  kind: 'sms',
  to: '+8613800138000',
  templateId: '1110001',
  signName: '',
  params: ['王哥', '3'],
  text: '王哥，您的咖啡豆大约还能喝3天。',
  marketing: false,
  reference: '4242',
  ...over,
});

/** Resolves to the ProviderError the promise rejects with (fails the test if it resolves). */
async function providerError(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected the send to fail');
}

/** A port nothing listens on. */
async function closedPort(): Promise<string> {
  const f = await startFakeTwilio();
  await f.close();
  return f.base;
}

// ---------------------------------------------------------------------------------------------
describe('Twilio X-Twilio-Signature', () => {
  const tw = vectors.twilio;

  it('the in-repo copy is the published vectors file, unchanged', () => {
    expect(vectorFileSha256('sms-email.json')).toBe(VECTOR_FILES['sms-email.json']);
  });

  it('matches the official vector', () => {
    expect(twilioSignature(tw.authToken, tw.url, tw.params)).toBe(tw.signature);
    expect(validateTwilioSignature(tw.authToken, tw.signature, tw.url, tw.params)).toBe(true);
  });

  it('accepts the URL with and without the default port, either way round', () => {
    const withPort = tw.sameUrlWithPort443;
    expect(twilioSignature(tw.authToken, withPort.url, tw.params)).toBe(withPort.signature);
    // Twilio signed with :443, our server rebuilt the URL without it — and the reverse
    expect(validateTwilioSignature(tw.authToken, withPort.signature, tw.url, tw.params)).toBe(true);
    expect(validateTwilioSignature(tw.authToken, tw.signature, withPort.url, tw.params)).toBe(true);
    expect(validateTwilioSignature(tw.authToken, withPort.signature, withPort.url, tw.params)).toBe(true);
  });

  it('matches the non-default-port vector from twilio-node (spec appendix A)', () => {
    const url = 'http://mycompany.com:1234/myapp.php?foo=1&bar=2';
    expect(twilioSignature(tw.authToken, url, tw.params)).toBe('Zmvh+3yNM1Phv2jhDCwEM3q5ebU=');
    expect(validateTwilioSignature(tw.authToken, 'Zmvh+3yNM1Phv2jhDCwEM3q5ebU=', url, tw.params)).toBe(true);
  });

  it('validates JSON-bodied webhooks by bodySHA256 (spec appendix A)', () => {
    const body = '{"property": "value", "boolean": true}';
    const hash = '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620';
    const url = `${tw.url}&bodySHA256=${hash}`;
    expect(twilioSignature(tw.authToken, url)).toBe('a9nBmqA0ju/hNViExpshrM61xv4=');
    expect(validateTwilioSignatureWithBody(tw.authToken, 'a9nBmqA0ju/hNViExpshrM61xv4=', url, body)).toBe(true);
    expect(validateTwilioSignatureWithBody(tw.authToken, 'a9nBmqA0ju/hNViExpshrM61xv4=', url, body.replace('true', 'false'))).toBe(false);
  });

  it('refuses a wrong token, a changed, added or missing param, a changed URL and an empty signature', () => {
    expect(validateTwilioSignature('54321', tw.signature, tw.url, tw.params)).toBe(false);
    expect(validateTwilioSignature(tw.authToken, tw.signature, tw.url, { ...tw.params, Digits: '1235' })).toBe(false);
    expect(validateTwilioSignature(tw.authToken, tw.signature, tw.url, { ...tw.params, Extra: 'x' })).toBe(false);
    const { Digits: _d, ...fewer } = tw.params;
    expect(validateTwilioSignature(tw.authToken, tw.signature, tw.url, fewer)).toBe(false);
    expect(validateTwilioSignature(tw.authToken, tw.signature, tw.url.replace('foo=1', 'foo=2'), tw.params)).toBe(false);
    expect(validateTwilioSignature(tw.authToken, tw.signature, tw.url.replace('https:', 'http:'), tw.params)).toBe(false);
    expect(validateTwilioSignature(tw.authToken, '', tw.url, tw.params)).toBe(false);
    expect(validateTwilioSignature(tw.authToken, tw.signature.slice(0, -2), tw.url, tw.params)).toBe(false);
  });

  it('signs a repeated param once per distinct value, values sorted (as twilio-node does)', () => {
    const url = 'https://example.com/hook';
    const expected = createHmac('sha1', 'tok').update(`${url}Bodyhi` + 'MediaUrla' + 'MediaUrlb').digest('base64');
    expect(twilioSignature('tok', url, { MediaUrl: ['b', 'a', 'b'], Body: 'hi' })).toBe(expected);
  });

  it('URL variants: as given, without the port, with the default port', () => {
    expect(twilioUrlVariants('https://a.example/x?y=1')).toEqual(['https://a.example/x?y=1', 'https://a.example:443/x?y=1']);
    expect(twilioUrlVariants('https://a.example:443/x')).toEqual(['https://a.example:443/x', 'https://a.example/x']);
    expect(twilioUrlVariants('http://a.example/x')).toEqual(['http://a.example/x', 'http://a.example:80/x']);
    expect(twilioUrlVariants('http://a.example:8080/x')).toEqual(['http://a.example:8080/x', 'http://a.example/x']);
  });
});

// ---------------------------------------------------------------------------------------------
describe('shared SMS helpers', () => {
  it.each([
    '【咖啡小店】王哥生日快乐，送您一张券。拒收请回复R',
    '王哥生日快乐！回T退订',
    '王哥生日快乐！退订回T',
    '王哥生日快乐！回复TD退订',
    '王哥生日快乐！退订请回复TD。',
    '王哥生日快乐！回N退订',
    '王哥生日快乐！拒收请回复Ｒ', // full-width R
    '如需退订请回复“退订”',
    'Happy birthday! Reply STOP to unsubscribe.',
    'Happy birthday! Text STOP to opt out',
    'Happy birthday! STOP to opt-out',
    'Happy birthday! Reply STOP',
  ])('%j carries an opt-out instruction', (text) => {
    expect(hasOptOutInstruction(text)).toBe(true);
  });

  it.each(['王哥生日快乐，送您一张券。', '欢迎回来！', '回复T恤尺码即可', 'Happy birthday!', "Don't stop now!", 'Reply YES to confirm', '退订'])('%j does not', (text) => {
    expect(hasOptOutInstruction(text)).toBe(false);
  });

  it('Beijing-time strings become ISO-8601 with +08:00 (the same instant, not UTC)', () => {
    expect(beijingTimeToIso('2017-09-01 00:00:00')).toBe('2017-09-01T00:00:00+08:00');
    expect(new Date(beijingTimeToIso('2017-09-01 00:00:00')!).toISOString()).toBe('2017-08-31T16:00:00.000Z');
    expect(beijingTimeToIso('2024-02-29 23:59:59')).toBe('2024-02-29T23:59:59+08:00');
    expect(beijingTimeToIso('2023-02-29 10:00:00')).toBeNull();
    expect(beijingTimeToIso('2017-13-01 00:00:00')).toBeNull();
    expect(beijingTimeToIso('yesterday')).toBeNull();
    expect(beijingTimeToIso(1700000000)).toBeNull();
    expect(unixToBeijingIso(1700000000)).toBe('2023-11-15T06:13:20+08:00');
    expect(new Date(unixToBeijingIso(1700000000)).getTime()).toBe(1700000000_000);
  });

  it('phone numbers as providers send them become E.164', () => {
    expect(toE164('13800138000')).toBe('+8613800138000');
    expect(toE164('8613800138000')).toBe('+8613800138000');
    expect(toE164('008613800138000')).toBe('+8613800138000');
    expect(toE164(13800138000)).toBe('+8613800138000');
    expect(toE164('+14158675309')).toBe('+14158675309');
    expect(toE164('1381111****')).toBeNull();
    expect(toE164('12')).toBeNull();
    expect(aliyunPhoneNumber('+8613800138000')).toBe('13800138000');
    expect(aliyunPhoneNumber('+85291234567')).toBe('85291234567');
  });
});

// ---------------------------------------------------------------------------------------------
describe('Tencent SMS adapter (official SDK → local fake)', () => {
  let fake: FakeTencentSms;
  let adapter: TencentSmsAdapter;
  const cfg = () => ({ secretId: fake.secretId, secretKey: fake.secretKey, sdkAppId: fake.sdkAppId, region: 'ap-guangzhou', endpoint: fake.endpoint });
  beforeEach(async () => {
    fake = await startFakeTencentSms();
    adapter = new TencentSmsAdapter(cfg(), { signName: '咖啡小店', timeoutMs: 1000 });
  });
  afterEach(() => fake.close());

  it('sends SendSms with our delivery id in SessionContext and returns the SerialNo', async () => {
    const result = await adapter.send(sms());
    expect(fake.calls).toHaveLength(1);
    const call = fake.calls[0];
    expect(call.signatureValid).toBe(true);
    expect(call.action).toBe('SendSms');
    expect(call.headers['x-tc-region']).toBe('ap-guangzhou');
    expect(call.headers['x-tc-version']).toBe('2021-01-11');
    expect(call.body).toEqual({
      PhoneNumberSet: ['+8613800138000'],
      SmsSdkAppId: fake.sdkAppId,
      TemplateId: '1110001',
      SignName: '咖啡小店',
      TemplateParamSet: ['王哥', '3'],
      SessionContext: '4242',
    });
    expect(result).toEqual({ providerRef: fake.sent[0].serialNo, status: 'sent' });
    expect(result.providerRef).toMatch(/^2433:/);
  });

  it("uses the message's own sign name over the default", async () => {
    fake.signs.add('豆仓');
    await adapter.send(sms({ signName: '豆仓' }));
    expect(fake.calls[0].body.SignName).toBe('豆仓');
  });

  it('a number on the carrier blocklist is a permanent failure with Tencent’s code', async () => {
    fake.blacklist.add('+8613800138000');
    const err = await providerError(adapter.send(sms()));
    expect(err).toMatchObject({ code: 'FailedOperation.PhoneNumberInBlacklist', permanent: true });
  });

  it('an invalid number is permanent (InvalidParameterValue.IncorrectPhoneNumber)', async () => {
    const err = await providerError(adapter.send(sms({ to: '+8612012345678' })));
    expect(err).toMatchObject({ code: 'InvalidParameterValue.IncorrectPhoneNumber', permanent: true });
  });

  it('an unapproved template or sign is permanent', async () => {
    expect(await providerError(adapter.send(sms({ templateId: '9999999' })))).toMatchObject({ code: 'FailedOperation.TemplateIncorrectOrUnapproved', permanent: true });
    expect(await providerError(adapter.send(sms({ signName: '没批的签名' })))).toMatchObject({ code: 'FailedOperation.SignatureIncorrectOrUnapproved', permanent: true });
    expect(await providerError(adapter.send(sms({ params: ['王哥'] })))).toMatchObject({ code: 'FailedOperation.TemplateParamSetNotMatchApprovedTemplate', permanent: true });
  });

  it('a wrong secret key is refused by the API (AuthFailure.SignatureFailure) and is permanent', async () => {
    const wrong = new TencentSmsAdapter({ ...cfg(), secretKey: 'not-the-key' }, { signName: '咖啡小店' });
    const err = await providerError(wrong.send(sms()));
    expect(err).toMatchObject({ code: 'AuthFailure.SignatureFailure', permanent: true });
    expect(fake.calls[0].signatureValid).toBe(false);
    expect(fake.sent).toHaveLength(0);
  });

  it('frequency limits and internal errors are transient', async () => {
    fake.failNext({ kind: 'status', code: 'LimitExceeded.PhoneNumberDailyLimit', message: 'daily limit' });
    expect(await providerError(adapter.send(sms()))).toMatchObject({ code: 'LimitExceeded.PhoneNumberDailyLimit', permanent: false });
    fake.failNext({ kind: 'error', code: 'InternalError.Timeout', message: 'request timeout' });
    expect(await providerError(adapter.send(sms()))).toMatchObject({ code: 'InternalError.Timeout', permanent: false });
    fake.failNext({ kind: 'error', code: 'RequestLimitExceeded', message: 'too many requests' });
    expect(await providerError(adapter.send(sms()))).toMatchObject({ code: 'RequestLimitExceeded', permanent: false });
  });

  it('HTTP 5xx, a timeout and a refused connection are transient', async () => {
    fake.failNext({ kind: 'http', status: 502 });
    expect(await providerError(adapter.send(sms()))).toMatchObject({ code: 'http_502', permanent: false });
    fake.failNext({ kind: 'hang', ms: 2500 });
    const started = Date.now();
    expect(await providerError(adapter.send(sms()))).toMatchObject({ permanent: false });
    expect(Date.now() - started).toBeLessThan(2400);
    const down = new TencentSmsAdapter({ ...cfg(), endpoint: await closedPort() }, { signName: '咖啡小店' });
    expect(await providerError(down.send(sms()))).toMatchObject({ code: 'network_error', permanent: false });
  });

  it('refuses a marketing SMS without opt-out wording, before calling Tencent', async () => {
    const err = await providerError(adapter.send(sms({ marketing: true, text: '王哥生日快乐，送您一张8折券' })));
    expect(err).toMatchObject({ code: 'template_missing_opt_out', permanent: true });
    expect(fake.calls).toHaveLength(0);
    await adapter.send(sms({ marketing: true, text: '王哥生日快乐，送您一张8折券。拒收请回复R' }));
    expect(fake.sent).toHaveLength(1);
  });

  it('refuses what it cannot send without asking Tencent: no template, no sign, not E.164', async () => {
    const noSign = new TencentSmsAdapter(cfg(), {});
    expect(await providerError(noSign.send(sms()))).toMatchObject({ code: 'missing_params', permanent: true });
    expect(await providerError(adapter.send(sms({ templateId: '' })))).toMatchObject({ code: 'missing_params', permanent: true });
    expect(await providerError(adapter.send(sms({ to: '13800138000' })))).toMatchObject({ code: 'invalid_number', permanent: true });
    expect(fake.calls).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
describe('Aliyun SMS adapter (official SDK → local fake)', () => {
  let fake: FakeAliyunSms;
  let adapter: AliyunSmsAdapter;
  const cfg = () => ({ accessKeyId: fake.accessKeyId, accessKeySecret: fake.accessKeySecret, endpoint: fake.endpoint, templateParams: { SMS_100001: ['name', 'days'] } });
  const aliSms = (over: Partial<OutboundSms> = {}) => sms({ templateId: 'SMS_100001', ...over });
  beforeEach(async () => {
    fake = await startFakeAliyunSms();
    adapter = new AliyunSmsAdapter(cfg(), { signName: '咖啡小店', timeoutMs: 1000 });
  });
  afterEach(() => fake.close());

  it('sends SendSms with named template params and our delivery id in OutId, and returns the BizId', async () => {
    const result = await adapter.send(aliSms());
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ action: 'SendSms', signatureValid: true });
    expect(fake.calls[0].params).toEqual({
      PhoneNumbers: '13800138000',
      SignName: '咖啡小店',
      TemplateCode: 'SMS_100001',
      TemplateParam: JSON.stringify({ name: '王哥', days: '3' }),
      OutId: '4242',
    });
    expect(result).toEqual({ providerRef: fake.sent[0].bizId, status: 'sent' });
  });

  it('a template without params sends no TemplateParam', async () => {
    await adapter.send(aliSms({ templateId: 'SMS_100002', params: [] }));
    expect(fake.calls[0].params.TemplateParam).toBeUndefined();
    expect(fake.sent).toHaveLength(1);
  });

  it('an illegal number is permanent (isv.MOBILE_NUMBER_ILLEGAL)', async () => {
    expect(await providerError(adapter.send(aliSms({ to: '+8612012345678' })))).toMatchObject({ code: 'isv.MOBILE_NUMBER_ILLEGAL', permanent: true });
  });

  it('an unknown sign or template is permanent', async () => {
    expect(await providerError(adapter.send(aliSms({ signName: '没批的签名' })))).toMatchObject({ code: 'isv.SMS_SIGNATURE_ILLEGAL', permanent: true });
    const unknownTemplate = new AliyunSmsAdapter({ ...cfg(), templateParams: { SMS_999: ['name', 'days'] } }, { signName: '咖啡小店' });
    expect(await providerError(unknownTemplate.send(aliSms({ templateId: 'SMS_999' })))).toMatchObject({ code: 'isv.SMS_TEMPLATE_ILLEGAL', permanent: true });
  });

  it('flow control (isv.BUSINESS_LIMIT_CONTROL) is transient', async () => {
    fake.perNumberLimit = 1;
    await adapter.send(aliSms());
    expect(await providerError(adapter.send(aliSms()))).toMatchObject({ code: 'isv.BUSINESS_LIMIT_CONTROL', permanent: false });
  });

  it('wrong credentials are permanent (HTTP 404 / 400 from the API)', async () => {
    const unknownKey = new AliyunSmsAdapter({ ...cfg(), accessKeyId: 'LTAInobody' }, { signName: '咖啡小店' });
    expect(await providerError(unknownKey.send(aliSms()))).toMatchObject({ code: 'InvalidAccessKeyId.NotFound', permanent: true });
    const wrongSecret = new AliyunSmsAdapter({ ...cfg(), accessKeySecret: 'nope' }, { signName: '咖啡小店' });
    expect(await providerError(wrongSecret.send(aliSms()))).toMatchObject({ code: 'SignatureDoesNotMatch', permanent: true });
    expect(fake.sent).toHaveLength(0);
  });

  it('HTTP 5xx, throttling, system errors, a timeout and a refused connection are transient', async () => {
    fake.failNext({ kind: 'http', status: 503, code: 'ServiceUnavailable', message: 'The request has failed due to a temporary failure of the server.' });
    expect(await providerError(adapter.send(aliSms()))).toMatchObject({ code: 'ServiceUnavailable', permanent: false });
    fake.failNext({ kind: 'http', status: 400, code: 'Throttling.User', message: 'Request was denied due to user flow control.' });
    expect(await providerError(adapter.send(aliSms()))).toMatchObject({ code: 'Throttling.User', permanent: false });
    fake.failNext({ kind: 'code', code: 'isp.SYSTEM_ERROR', message: '系统错误' });
    expect(await providerError(adapter.send(aliSms()))).toMatchObject({ code: 'isp.SYSTEM_ERROR', permanent: false });
    fake.failNext({ kind: 'hang', ms: 2500 });
    const started = Date.now();
    expect(await providerError(adapter.send(aliSms()))).toMatchObject({ code: 'timeout', permanent: false });
    expect(Date.now() - started).toBeLessThan(2400);
    const down = new AliyunSmsAdapter({ ...cfg(), endpoint: await closedPort() }, { signName: '咖啡小店' });
    expect(await providerError(down.send(aliSms()))).toMatchObject({ code: 'network_error', permanent: false });
  });

  it('the SDK does not retry on its own (Aliyun SendSms is not idempotent)', async () => {
    fake.failNext({ kind: 'http', status: 503, code: 'ServiceUnavailable', message: 'busy' });
    await providerError(adapter.send(aliSms()));
    expect(fake.calls).toHaveLength(1);
  });

  it('refuses params it cannot name, and a marketing SMS without opt-out wording, before calling Aliyun', async () => {
    expect(await providerError(adapter.send(aliSms({ templateId: 'SMS_777' })))).toMatchObject({ code: 'missing_params', permanent: true });
    expect(await providerError(adapter.send(aliSms({ params: ['王哥'] })))).toMatchObject({ code: 'missing_params', permanent: true });
    expect(await providerError(adapter.send(aliSms({ marketing: true, text: '王哥生日快乐' })))).toMatchObject({ code: 'template_missing_opt_out', permanent: true });
    expect(fake.calls).toHaveLength(0);
    await adapter.send(aliSms({ marketing: true, text: '王哥生日快乐，拒收请回复R' }));
    expect(fake.sent).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
describe('Twilio adapter (fetch → local fake)', () => {
  let fake: FakeTwilio;
  let adapter: TwilioSmsAdapter;
  const cfg = () => ({ accountSid: fake.accountSid, authToken: fake.authToken, from: '+14155550100', apiBase: fake.base });
  const twSms = (over: Partial<OutboundSms> = {}) => sms({ to: '+14158675309', templateId: '', signName: '', params: [], text: 'Your beans are on the way', ...over });
  beforeEach(async () => {
    fake = await startFakeTwilio();
    adapter = new TwilioSmsAdapter(cfg(), { timeoutMs: 1000, statusCallback: (ref) => `https://tp.example.com/webhooks/sms/twilio?ref=${ref}` });
  });
  afterEach(() => fake.close());

  it('POSTs the message with Basic auth and a StatusCallback that carries our delivery id', async () => {
    const result = await adapter.send(twSms());
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ method: 'POST', path: `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`, authorized: true });
    expect(fake.calls[0].form).toEqual({ To: '+14158675309', From: '+14155550100', Body: 'Your beans are on the way', StatusCallback: 'https://tp.example.com/webhooks/sms/twilio?ref=4242' });
    expect(result).toEqual({ providerRef: fake.sent[0].sid, status: 'sent' });
    expect(result.providerRef).toMatch(/^SM[0-9a-f]{32}$/);
  });

  it('sends from a Messaging Service when TWILIO_FROM is an MG sid', async () => {
    const mg = new TwilioSmsAdapter({ ...cfg(), from: 'MG' + '0'.repeat(32) });
    await mg.send(twSms());
    expect(fake.calls[0].form).toEqual({ To: '+14158675309', MessagingServiceSid: 'MG' + '0'.repeat(32), Body: 'Your beans are on the way' });
  });

  it('21610 (recipient texted STOP) and 21211 (invalid To) are permanent', async () => {
    fake.unsubscribed.add('+14158675309');
    expect(await providerError(adapter.send(twSms()))).toMatchObject({ code: '21610', permanent: true });
    expect(await providerError(adapter.send(twSms({ to: '+10000000000' })))).toMatchObject({ code: '21211', permanent: true });
  });

  it('a wrong auth token is permanent (20003)', async () => {
    const wrong = new TwilioSmsAdapter({ ...cfg(), authToken: 'wrong' });
    expect(await providerError(wrong.send(twSms()))).toMatchObject({ code: '20003', permanent: true });
  });

  it('429, 5xx, a timeout and a refused connection are transient', async () => {
    fake.failNext({ kind: 'http', status: 429, code: 20429, message: 'Too Many Requests' });
    expect(await providerError(adapter.send(twSms()))).toMatchObject({ code: '20429', permanent: false });
    fake.failNext({ kind: 'http', status: 500, code: 20500, message: 'Internal Server Error' });
    expect(await providerError(adapter.send(twSms()))).toMatchObject({ code: '20500', permanent: false });
    fake.failNext({ kind: 'http', status: 503, code: 20503, message: 'Service Unavailable' });
    expect(await providerError(adapter.send(twSms()))).toMatchObject({ permanent: false });
    fake.failNext({ kind: 'hang', ms: 2500 });
    expect(await providerError(adapter.send(twSms()))).toMatchObject({ code: 'timeout', permanent: false });
    const down = new TwilioSmsAdapter({ ...cfg(), apiBase: await closedPort() });
    expect(await providerError(down.send(twSms()))).toMatchObject({ code: 'network_error', permanent: false });
  });

  it('refuses a marketing SMS without "Reply STOP", before calling Twilio', async () => {
    expect(await providerError(adapter.send(twSms({ marketing: true, text: '20% off your next bag!' })))).toMatchObject({ code: 'template_missing_opt_out', permanent: true });
    expect(fake.calls).toHaveLength(0);
    await adapter.send(twSms({ marketing: true, text: '20% off your next bag! Reply STOP to opt out' }));
    expect(fake.sent).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
describe('createSmsAdapter', () => {
  const base = { TENCENT_SMS_SECRET_ID: 'id', TENCENT_SMS_SECRET_KEY: 'key', TENCENT_SMS_SDK_APP_ID: '1400006666', SMS_SIGN_NAME: '咖啡小店' };
  const build = (env: Record<string, string>) => {
    const problems: string[] = [];
    const cfg = loadSmsConfig(env, problems, []);
    expect(problems).toEqual([]);
    return createSmsAdapter(cfg);
  };

  it('returns the configured provider’s adapter', () => {
    expect(build({ ...base, SMS_PROVIDER: 'tencent' })?.provider).toBe('tencent');
    expect(build({ SMS_PROVIDER: 'aliyun', ALIYUN_SMS_ACCESS_KEY_ID: 'a', ALIYUN_SMS_ACCESS_KEY_SECRET: 'b', SMS_SIGN_NAME: 'x' })?.provider).toBe('aliyun');
    expect(build({ SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'AC' + 'a'.repeat(32), TWILIO_AUTH_TOKEN: 't', TWILIO_FROM: '+14155550100' })?.provider).toBe('twilio');
  });

  it('returns null when SMS is off or the provider is incomplete', () => {
    expect(build({})).toBeNull();
    expect(build({ ...base, SMS_PROVIDER: 'none' })).toBeNull();
    expect(build({ ...base, SMS_PROVIDER: 'tencent', TENCENT_SMS_SECRET_KEY: '' })).toBeNull();
    expect(build({ ...base, SMS_PROVIDER: 'aliyun' })).toBeNull();
  });
});
