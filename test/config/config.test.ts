// loadConfig: defaults, validation that names the variable at fault, partial WeCom settings, notices.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, readEnv } from '../../config';

const AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const WECOM = { WECOM_CORP_ID: 'wwcorp0001', WECOM_TOKEN: 'QDG6eK', WECOM_ENCODING_AES_KEY: AES_KEY };

/** The ConfigError loadConfig throws for `env` (fails the test when it does not throw one). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has working defaults for everything but the secrets', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.databaseUrl).toBe('mysql://root@127.0.0.1:3306/touchpoint');
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.storeTimezone).toBe('Asia/Shanghai');
    expect(c.role).toBe('all');
    expect(c.adminToken).toBeNull();
    expect(c.wecom.enabled).toBe(false);
    expect(c.wecom.replayWindowSeconds).toBe(300);
    expect(c.wecom.apiBase).toBe('https://qyapi.weixin.qq.com');
  });

  it('treats empty and blank values as unset', () => {
    const c = loadConfig({ PORT: '', ROLE: '  ', STORE_TIMEZONE: '', ADMIN_TOKEN: '', WECOM_API_BASE: '' });
    expect(c).toMatchObject({ port: 3000, role: 'all', storeTimezone: 'Asia/Shanghai', adminToken: null });
    expect(c.wecom.apiBase).toBe('https://qyapi.weixin.qq.com');
  });

  it('reads the values it is given', () => {
    const c = loadConfig({
      PORT: '8080',
      ROLE: 'worker',
      STORE_TIMEZONE: 'Europe/Berlin',
      ADMIN_TOKEN: 'a-long-enough-admin-token',
      WECOM_API_BASE: 'http://127.0.0.1:9999/',
      WECOM_REPLAY_WINDOW_SECONDS: '0',
      ...WECOM,
      WECOM_CONTACT_SECRET: 'cs',
      WECOM_AGENT_SECRET: 'as',
    });
    expect(c).toMatchObject({ port: 8080, role: 'worker', storeTimezone: 'Europe/Berlin', adminToken: 'a-long-enough-admin-token' });
    expect(c.wecom).toMatchObject({
      enabled: true,
      corpId: 'wwcorp0001',
      token: 'QDG6eK',
      encodingAesKey: AES_KEY,
      contactSecret: 'cs',
      agentSecret: 'as',
      kfSecret: 'as', // customer service falls back to the app secret
      apiBase: 'http://127.0.0.1:9999', // no trailing slash
      replayWindowSeconds: 0,
    });
    expect(loadConfig({ ...WECOM, WECOM_AGENT_SECRET: 'as', WECOM_KF_SECRET: 'ks' }).wecom.kfSecret).toBe('ks');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PORT', '0x50'],
    ['ROLE', 'boss'],
    ['STORE_TIMEZONE', 'Mars/Olympus_Mons'],
    ['WECOM_ENCODING_AES_KEY', 'too-short'],
    ['WECOM_ENCODING_AES_KEY', `${AES_KEY.slice(0, 42)}=`],
    ['DATABASE_URL', 'postgres://localhost/touchpoint'],
    ['REDIS_URL', 'localhost:6379'],
    ['ADMIN_TOKEN', 'short'],
    ['WECOM_API_BASE', 'qyapi.weixin.qq.com'],
    ['WECOM_API_BASE', 'javascript:alert(1)'],
    ['JOB_ATTEMPTS', '0'],
  ])('rejects %s=%s with a ConfigError naming it', (name, value) => {
    const err = configError(name.startsWith('WECOM_') ? { ...WECOM, [name]: value } : { [name]: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(new RegExp(`^${name}:`));
    expect(err.message).toContain(name);
  });

  it('names every missing callback setting when only some WeCom settings are given', () => {
    let err = configError({ WECOM_CORP_ID: 'wwcorp0001' });
    expect(err.message).toMatch(/WECOM_TOKEN/);
    expect(err.message).toMatch(/WECOM_ENCODING_AES_KEY/);

    err = configError({ WECOM_CORP_ID: 'wwcorp0001', WECOM_ENCODING_AES_KEY: AES_KEY });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^WECOM_TOKEN:/);

    err = configError({ WECOM_TOKEN: 't', WECOM_ENCODING_AES_KEY: AES_KEY });
    expect(err.problems[0]).toMatch(/^WECOM_CORP_ID:/);
  });

  it('refuses API secrets without WECOM_CORP_ID instead of silently ignoring them', () => {
    for (const secret of ['WECOM_CONTACT_SECRET', 'WECOM_AGENT_SECRET', 'WECOM_KF_SECRET']) {
      const err = configError({ [secret]: 's' });
      expect(err.message).toMatch(/WECOM_CORP_ID/);
      expect(err.message).toContain(secret);
    }
  });

  it('reports every problem at once, not only the first kind', () => {
    const err = configError({ PORT: 'abc', ROLE: 'boss', WECOM_CORP_ID: 'wwcorp0001' });
    const names = err.problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(expect.arrayContaining(['PORT', 'ROLE']));
    expect(err.message).toMatch(/WECOM_TOKEN/);
  });

  it('notes what is switched off', () => {
    const off = loadConfig({});
    expect(off.notices.join('\n')).toMatch(/ADMIN_TOKEN is not set/);
    expect(off.notices.join('\n')).toMatch(/WeCom callbacks are off/);

    const on = loadConfig({ ADMIN_TOKEN: 'a-long-enough-admin-token', ...WECOM });
    expect(on.notices.join('\n')).not.toMatch(/ADMIN_TOKEN/);
    expect(on.notices.join('\n')).not.toMatch(/WeCom callbacks are off/);
    expect(on.notices.join('\n')).toMatch(/WECOM_CONTACT_SECRET is not set/);
  });

  it('readEnv reads .env under the real environment (set variables win)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-env-'));
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, 'PORT=4000\nROLE=web\n');
    try {
      const env = readEnv({ ROLE: 'worker' }, file);
      expect(loadConfig(env)).toMatchObject({ port: 4000, role: 'worker' });
      expect(readEnv({}, path.join(dir, 'missing.env'))).toEqual({});
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
