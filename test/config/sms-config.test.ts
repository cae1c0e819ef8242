// SMS settings: a provider with missing settings is off and says so; invalid values name their variable.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config';
import { loadSmsConfig, SMS_ENV_VARS } from '../../config/sms';

function load(env: Record<string, string>) {
  const problems: string[] = [];
  const notices: string[] = [];
  const cfg = loadSmsConfig(env, problems, notices);
  return { cfg, problems, notices };
}

const TENCENT = { TENCENT_SMS_SECRET_ID: 'AKIDx', TENCENT_SMS_SECRET_KEY: 'key', TENCENT_SMS_SDK_APP_ID: '1400006666', SMS_SIGN_NAME: '咖啡小店' };
const ALIYUN = { ALIYUN_SMS_ACCESS_KEY_ID: 'LTAIx', ALIYUN_SMS_ACCESS_KEY_SECRET: 'secret', SMS_SIGN_NAME: '咖啡小店' };
const TWILIO = { TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32), TWILIO_AUTH_TOKEN: 'tok', TWILIO_FROM: '+14155550100' };
const TOKEN = 'sms-webhook-token-0123456789';

describe('loadSmsConfig', () => {
  it('is off by default, and says so', () => {
    const { cfg, problems, notices } = load({});
    expect(problems).toEqual([]);
    expect(cfg).toMatchObject({ provider: 'none', webhookToken: null, tencent: null, aliyun: null, twilio: null, twilioAuthToken: null, sendTimeoutMs: 10000 });
    expect(notices.join('\n')).toMatch(/SMS sending is off: SMS_PROVIDER is not set/);
    expect(notices.join('\n')).toMatch(/SMS_WEBHOOK_TOKEN is not set/);
  });

  it('turns on a complete Tencent configuration with default region and endpoint', () => {
    const { cfg, problems } = load({ SMS_PROVIDER: 'tencent', SMS_WEBHOOK_TOKEN: TOKEN, ...TENCENT });
    expect(problems).toEqual([]);
    expect(cfg.provider).toBe('tencent');
    expect(cfg.tencent).toEqual({ secretId: 'AKIDx', secretKey: 'key', sdkAppId: '1400006666', region: 'ap-guangzhou', endpoint: 'https://sms.tencentcloudapi.com' });
    expect(cfg.signName).toBe('咖啡小店');
    expect(cfg.webhookToken).toBe(TOKEN);
  });

  it.each([
    ['tencent', TENCENT, 'TENCENT_SMS_SECRET_KEY'],
    ['tencent', TENCENT, 'SMS_SIGN_NAME'],
    ['aliyun', ALIYUN, 'ALIYUN_SMS_ACCESS_KEY_SECRET'],
    ['aliyun', ALIYUN, 'SMS_SIGN_NAME'],
    ['twilio', TWILIO, 'TWILIO_FROM'],
  ])('%s without %s is off and names what is missing (never half-configured)', (provider, settings, drop) => {
    const env: Record<string, string> = { SMS_PROVIDER: provider, ...settings };
    delete env[drop];
    const { cfg, problems, notices } = load(env);
    expect(problems).toEqual([]);
    expect(cfg.provider).toBe('none');
    expect(notices.find((n) => n.startsWith('SMS sending is off'))).toContain(drop);
  });

  it('Aliyun: endpoint override and template variable names', () => {
    const { cfg, problems } = load({ SMS_PROVIDER: 'aliyun', ...ALIYUN, ALIYUN_SMS_ENDPOINT: 'http://127.0.0.1:9999/', ALIYUN_SMS_TEMPLATE_PARAMS: 'SMS_1: name, days ; SMS_2:code' });
    expect(problems).toEqual([]);
    expect(cfg.aliyun).toEqual({ accessKeyId: 'LTAIx', accessKeySecret: 'secret', endpoint: 'http://127.0.0.1:9999', templateParams: { SMS_1: ['name', 'days'], SMS_2: ['code'] } });
  });

  it('Twilio: the auth token alone turns on the webhook; the public URL falls back to PUBLIC_BASE_URL', () => {
    const { cfg, notices } = load({ TWILIO_AUTH_TOKEN: 'tok', PUBLIC_BASE_URL: 'https://tp.example.com/' });
    expect(cfg.provider).toBe('none');
    expect(cfg.twilioAuthToken).toBe('tok');
    expect(cfg.publicBaseUrl).toBe('https://tp.example.com');
    expect(notices.join('\n')).not.toMatch(/Twilio signatures are checked against the URL the request arrived at/);
    expect(load({ TWILIO_AUTH_TOKEN: 'tok', PUBLIC_BASE_URL: 'https://a.example', SMS_PUBLIC_BASE_URL: 'https://b.example' }).cfg.publicBaseUrl).toBe('https://b.example');
    expect(load({ TWILIO_AUTH_TOKEN: 'tok' }).notices.join('\n')).toMatch(/Twilio signatures are checked against the URL the request arrived at/);
  });

  it.each([
    [{ SMS_PROVIDER: 'nexmo' }, 'SMS_PROVIDER'],
    [{ SMS_WEBHOOK_TOKEN: 'short' }, 'SMS_WEBHOOK_TOKEN'],
    [{ SMS_WEBHOOK_TOKEN: 'has a space in it but is long enough' }, 'SMS_WEBHOOK_TOKEN'],
    [{ TENCENT_SMS_SDK_APP_ID: 'app-one' }, 'TENCENT_SMS_SDK_APP_ID'],
    [{ TENCENT_SMS_REGION: 'Guangzhou' }, 'TENCENT_SMS_REGION'],
    [{ TENCENT_SMS_ENDPOINT: 'sms.tencentcloudapi.com' }, 'TENCENT_SMS_ENDPOINT'],
    [{ TENCENT_SMS_ENDPOINT: 'https://sms.tencentcloudapi.com/v3' }, 'TENCENT_SMS_ENDPOINT'],
    [{ ALIYUN_SMS_ENDPOINT: 'ftp://dysmsapi.aliyuncs.com' }, 'ALIYUN_SMS_ENDPOINT'],
    [{ ALIYUN_SMS_TEMPLATE_PARAMS: 'SMS_1=name' }, 'ALIYUN_SMS_TEMPLATE_PARAMS'],
    [{ TWILIO_ACCOUNT_SID: 'AC123' }, 'TWILIO_ACCOUNT_SID'],
    [{ TWILIO_FROM: '4155550100' }, 'TWILIO_FROM'],
    [{ TWILIO_API_BASE: 'not a url' }, 'TWILIO_API_BASE'],
    [{ SMS_PUBLIC_BASE_URL: 'https://tp.example.com/?x=1' }, 'SMS_PUBLIC_BASE_URL'],
    [{ SMS_SEND_TIMEOUT_MS: '10s' }, 'SMS_SEND_TIMEOUT_MS'],
    [{ SMS_SIGN_NAME: '【咖啡小店】' }, 'SMS_SIGN_NAME'],
  ])('%j is a problem naming %s', (env, name) => {
    const { problems } = load(env as Record<string, string>);
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`${name}:`)).toBe(true);
  });

  it('loadConfig refuses to start on an SMS problem and carries the SMS notices', () => {
    expect(() => loadConfig({ SMS_WEBHOOK_TOKEN: 'short' })).toThrow(/SMS_WEBHOOK_TOKEN/);
    const config = loadConfig({ SMS_PROVIDER: 'tencent', ...TENCENT, SMS_WEBHOOK_TOKEN: TOKEN });
    expect(config.sms.provider).toBe('tencent');
    expect(config.notices.some((n) => n.startsWith('SMS sending is off'))).toBe(false);
  });

  it('.env.example documents every SMS variable, and its SMS section uncommented loads without problems', () => {
    const text = fs.readFileSync(path.resolve(__dirname, '../../.env.example'), 'utf8');
    const section = text.slice(text.indexOf('# SMS\n'));
    const env: Record<string, string> = {};
    for (const line of section.split('\n').slice(1)) {
      const m = /^# ([A-Z0-9_]+)=(\S*)/.exec(line);
      if (!m) break;
      env[m[1]] = m[2];
    }
    expect(Object.keys(env).sort()).toEqual([...SMS_ENV_VARS].sort());
    expect(load(env).problems).toEqual([]);
    // and SMS_ENV_VARS is what config/sms.ts and the provider modules' config loaders actually read
    // (PUBLIC_BASE_URL belongs to the general settings)
    const smsDir = path.resolve(__dirname, '../../channels/sms');
    const files = [path.resolve(__dirname, '../../config/sms.ts'), ...fs.readdirSync(smsDir).filter((f) => f.endsWith('.sms.ts')).map((f) => path.join(smsDir, f))];
    const source = files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const read = new Set([...source.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)].map((m) => m[1]).filter((n) => n !== 'PUBLIC_BASE_URL'));
    expect([...read].sort()).toEqual([...SMS_ENV_VARS].sort());
  });
});
