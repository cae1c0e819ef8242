// WXBizMsgCrypt for WeCom callbacks: our own signature check (constant time), decryption through
// @wecom/crypto, and the checks that library leaves to us (block layout, receive id).
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { decrypt as wecomDecrypt, encrypt as wecomEncrypt, getSignature } from '@wecom/crypto';

/** A callback we cannot open: the reason is its code; another corp's message is answered 401, the rest 400. */
export class WeComCryptoError extends Error {
  readonly kind: 'unauthorized' | 'invalid';
  readonly code: string;

  constructor(
    readonly reason: 'bad_signature' | 'undecryptable' | 'receive_id_mismatch',
    message: string,
  ) {
    super(message);
    this.kind = reason === 'receive_id_mismatch' ? 'unauthorized' : 'invalid';
    this.code = reason;
    this.name = 'WeComCryptoError';
  }
}

export function signature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return getSignature(token, timestamp, nonce, encrypt);
}

/** Constant-time comparison of the expected and the received msg_signature. */
export function verifySignature(token: string, timestamp: string, nonce: string, encrypt: string, received: string): boolean {
  const expected = Buffer.from(signature(token, timestamp, nonce, encrypt), 'utf8');
  const got = Buffer.from(received.toLowerCase(), 'utf8');
  if (got.length !== expected.length) {
    // still spend the same work so length is the only thing that leaks (and it is public: 40 hex chars)
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, got);
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Decrypts an `Encrypt` / `echostr` value and checks what @wecom/crypto does not:
 * a whole number of AES blocks, a sane length prefix, and the receive id (our corp id).
 */
export function decryptMessage(encodingAesKey: string, encrypted: string, expectedReceiveId: string): string {
  if (!BASE64.test(encrypted)) throw new WeComCryptoError('undecryptable', 'ciphertext is not base64');
  const raw = Buffer.from(encrypted, 'base64');
  if (raw.length === 0 || raw.length % 32 !== 0) {
    throw new WeComCryptoError('undecryptable', 'ciphertext is not a whole number of 32-byte blocks');
  }
  let out: { message: string; id: string };
  try {
    out = wecomDecrypt(encodingAesKey, encrypted);
  } catch (err) {
    throw new WeComCryptoError('undecryptable', `cannot decrypt: ${(err as Error).message}`);
  }
  if (out.id !== expectedReceiveId) {
    // @wecom/crypto keeps a bad pad silently: tell garbage (400) from a message for another corp (401)
    if (!hasValidPadding(encodingAesKey, raw)) throw new WeComCryptoError('undecryptable', 'cannot decrypt: bad padding (wrong key or corrupted ciphertext)');
    throw new WeComCryptoError('receive_id_mismatch', 'receive id in the message does not match WECOM_CORP_ID');
  }
  return out.message;
}

/** PKCS#7 to 32 bytes, checked strictly (only on the error path: the happy path never needs it). */
function hasValidPadding(encodingAesKey: string, raw: Buffer): boolean {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(raw), decipher.final()]);
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > 32) return false;
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return false;
  const len = plain.length >= 20 ? plain.readUInt32BE(16) : -1;
  return len >= 0 && 20 + len <= plain.length - pad;
}

export function encryptMessage(encodingAesKey: string, message: string, receiveId: string, random?: Buffer): string {
  return wecomEncrypt(encodingAesKey, message, receiveId, random);
}

/** Builds the query and body WeCom would send for `plaintextXml` (used by tests and the benchmark). */
export function sealCallback(
  opts: { token: string; encodingAesKey: string; corpId: string },
  plaintextXml: string,
  timestamp = String(Math.floor(Date.now() / 1000)),
  nonce = String(Math.floor(Math.random() * 1e10)),
): { query: { msg_signature: string; timestamp: string; nonce: string }; body: string } {
  const encrypt = encryptMessage(opts.encodingAesKey, plaintextXml, opts.corpId);
  const msg_signature = signature(opts.token, timestamp, nonce, encrypt);
  return {
    query: { msg_signature, timestamp, nonce },
    body: `<xml><ToUserName><![CDATA[${opts.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`,
  };
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
