// Differential check for channels/wecom/xml.ts at scale: the fast scanner vs xml2js on hand-picked,
// random and mutated documents (test/support/xml-differential.ts), plus the time per typical message.
//
//   npx tsx bench/xml-equivalence.check.ts [cases] [seed]
import { parseWeComXml } from '../channels/wecom/xml';
import { difference, documents, reference } from '../test/support/xml-differential';

async function main(): Promise<void> {
  const inputs = documents(Number(process.argv[2] ?? 50_000), Number(process.argv[3] ?? 42));
  let fastCount = 0;
  let failures = 0;
  for (const xml of inputs) {
    const { fast, diff } = await difference(xml);
    if (fast) fastCount++;
    if (diff) {
      failures++;
      if (failures <= 10) console.log(`DIFFERENT ${diff}`);
    }
  }
  console.log(`${inputs.length} documents, ${fastCount} taken by the fast scanner, ${failures} different from xml2js`);

  const typical =
    '<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[user1]]></FromUserName><CreateTime>1700000000</CreateTime>' +
    '<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello from the ingest benchmark, message 1]]></Content><MsgId>7345678901234560001</MsgId><AgentID>1000002</AgentID></xml>';
  for (const [label, fn] of [
    ['xml2js', () => reference(typical)],
    ['parseWeComXml', () => parseWeComXml(typical)],
  ] as const) {
    const n = 20_000;
    for (let k = 0; k < 2000; k++) await fn();
    const t = process.hrtime.bigint();
    for (let k = 0; k < n; k++) await fn();
    console.log(`${label}: ${(Number(process.hrtime.bigint() - t) / n / 1000).toFixed(1)} µs per typical message`);
  }
  if (failures) process.exitCode = 1;
}

void main();
