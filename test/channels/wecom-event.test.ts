// The type and de-dup key of a decrypted WeCom callback, computed from its XML alone. The keys are
// pinned byte for byte: events already stored carry them, and a redelivery must find its row again.
import { wecomDedupKey, wecomEventType } from '../../channels/wecom/event';
import { parseWeComXml } from '../../channels/wecom/xml';

const cases: [string, string, string][] = [
  [
    `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>4561255354251345929</MsgId><AgentID>1000002</AgentID></xml>`,
    'text',
    'wecom:msg:4561255354251345929',
  ],
  [
    `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmABC]]></ExternalUserID><WelcomeCode><![CDATA[WC1]]></WelcomeCode></xml>`,
    'event/change_external_contact/add_external_contact',
    'wecom:evt:3d3c0ad0b6154512031951ba084e65e6f1c6619c43d22d6752816d6539029a14',
  ],
  [
    `<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1700000001</CreateTime><MsgType>event</MsgType><Event>change_external_tag</Event><Id>etA</Id><TagType>tag</TagType><ChangeType>update</ChangeType></xml>`,
    'event/change_external_tag/update',
    'wecom:evt:8ba8e604e558d387bde563de541f286334524d0d0e2db205670568a90aae8f96',
  ],
  [
    `<xml><ToUserName>ww1</ToUserName><CreateTime>1700000002</CreateTime><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>T1</Token><OpenKfId>kf1</OpenKfId></xml>`,
    'event/kf_msg_or_event',
    'wecom:evt:c03e3f35fdd96d27ea079ac27e9f63da6fe943dc8db849753aa47dd54e23c29d',
  ],
  // repeated elements (an array) and nested ones are part of the hash
  [
    `<xml><MsgType>image</MsgType><PicUrl>http://x/y</PicUrl><Item><A>1</A></Item><Item><A>2</A></Item></xml>`,
    'image',
    'wecom:evt:4b753b680a6e5a1ca2e0022791fe691ab8bbfdcaa081de3e7eb8189ba0f163bc',
  ],
  // an empty MsgId is no MsgId: the fields decide
  [`<xml><MsgType>text</MsgType><MsgId></MsgId><Content>x</Content></xml>`, 'text', 'wecom:evt:23f9372021e26eb8c5e729ab803b81b5647d58c6f08052953380ecb76fc493ed'],
];

describe('WeCom event type and de-dup key', () => {
  it.each(cases.map(([xml, type, key]) => [type, xml, key]))('%# %s', async (type, xml, key) => {
    const msg = await parseWeComXml(xml);
    expect(wecomEventType(msg)).toBe(type);
    expect(wecomDedupKey(msg)).toBe(key);
  });

  it('the key does not depend on the order of the fields, and changes with any value', async () => {
    const a = await parseWeComXml(`<xml><MsgType>event</MsgType><Event>e</Event><Id>1</Id></xml>`);
    const b = await parseWeComXml(`<xml><Id>1</Id><Event>e</Event><MsgType>event</MsgType></xml>`);
    const c = await parseWeComXml(`<xml><Id>2</Id><Event>e</Event><MsgType>event</MsgType></xml>`);
    expect(wecomDedupKey(a)).toBe(wecomDedupKey(b));
    expect(wecomDedupKey(c)).not.toBe(wecomDedupKey(a));
  });
});
