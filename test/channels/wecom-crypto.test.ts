// The published WeCom vectors (official sample, wechatpy suite) verify and decrypt with our crypto.
import { decryptMessage, encryptMessage, signature, verifySignature, WeComCryptoError } from '../../channels/wecom/crypto';
import { parseWeComXml } from '../../channels/wecom/xml';
import { readVectors, vectorFileSha256, VECTOR_FILES } from '../support/vectors';

// the published vectors, copied into test/fixtures/vectors from ../shared/vectors
const { vectors } = readVectors('wecom.json') as { vectors: any[] };

describe('the vectors file', () => {
  it('the in-repo copy is the published vectors file, unchanged', () => {
    expect(vectorFileSha256('wecom.json')).toBe(VECTOR_FILES['wecom.json']);
  });
});

describe.each(vectors.map((v) => [v.name, v]))('vector %s', (_name, v) => {
  it('verifies and decrypts the URL-verification echostr', () => {
    const u = v.urlVerify;
    expect(signature(v.token, u.timestamp, u.nonce, u.echostr)).toBe(u.msg_signature);
    expect(verifySignature(v.token, u.timestamp, u.nonce, u.echostr, u.msg_signature)).toBe(true);
    expect(decryptMessage(v.encodingAESKey, u.echostr, v.receiveId)).toBe(u.plaintext);
  });

  it('rejects a signature with one character changed', () => {
    const u = v.urlVerify;
    const bad = (u.msg_signature[0] === 'a' ? 'b' : 'a') + u.msg_signature.slice(1);
    expect(verifySignature(v.token, u.timestamp, u.nonce, u.echostr, bad)).toBe(false);
  });

  it('refuses a receive id other than ours', () => {
    expect(() => decryptMessage(v.encodingAESKey, v.urlVerify.echostr, 'someone-else')).toThrow(WeComCryptoError);
  });

  if (v.post) {
    it('verifies and decrypts the POST message (32-byte padding), keeping MsgId as a string', async () => {
      const p = v.post;
      expect(verifySignature(v.token, p.timestamp, p.nonce, p.encrypt, p.msg_signature)).toBe(true);
      const xml = decryptMessage(v.encodingAESKey, p.encrypt, v.receiveId);
      const msg = await parseWeComXml(xml);
      for (const [k, want] of Object.entries(p.expect)) expect(msg[k]).toBe(want);
    });

    it('re-encrypts to the same ciphertext given the same random prefix', () => {
      const p = v.post;
      const xml = decryptMessage(v.encodingAESKey, p.encrypt, v.receiveId);
      const random = Buffer.from('0960688932c47ef1', 'latin1');
      expect(encryptMessage(v.encodingAESKey, xml, v.receiveId, random)).toBe(p.encrypt);
    });
  }
});

describe('decryptMessage on bad ciphertext', () => {
  const key = vectors[0].encodingAESKey;
  it.each([
    ['not base64', '!!!notbase64!!!'],
    ['not whole blocks', Buffer.alloc(20, 1).toString('base64')],
    ['random blocks', Buffer.alloc(64, 7).toString('base64')],
  ])('%s → WeComCryptoError', (_n, c) => {
    expect(() => decryptMessage(key, c, vectors[0].receiveId)).toThrow(WeComCryptoError);
  });
});

describe('parseWeComXml', () => {
  it('refuses DTDs and entity declarations', async () => {
    await expect(parseWeComXml('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>')).rejects.toThrow(/DTD/);
  });
  it('keeps numeric-looking values as strings, CDATA or not', async () => {
    const msg = await parseWeComXml('<xml><MsgId>4561255354251345929</MsgId><Code><![CDATA[007]]></Code><Empty></Empty></xml>');
    expect(msg).toEqual({ MsgId: '4561255354251345929', Code: '007', Empty: '' });
  });
  it('returns repeated elements as arrays', async () => {
    const msg = await parseWeComXml('<xml><MemChangeList><Item>a</Item><Item>b</Item></MemChangeList></xml>');
    expect(msg.MemChangeList).toEqual({ Item: ['a', 'b'] });
  });
});
