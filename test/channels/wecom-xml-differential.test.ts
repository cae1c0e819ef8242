// The hand-written fast XML scanner gives exactly what xml2js gives, or steps aside: hand-picked
// documents plus 4,000 random and mutated WeCom-like documents from a fixed seed.
import { difference, documents } from '../support/xml-differential';

describe('parseWeComXml fast path vs xml2js', () => {
  it('agrees on every document (same value, key order and error)', async () => {
    const diffs: string[] = [];
    let fast = 0;
    for (const xml of documents(4000, 20261125)) {
      const r = await difference(xml);
      if (r.fast) fast++;
      if (r.diff) diffs.push(r.diff);
    }
    expect(diffs.slice(0, 5)).toEqual([]);
    // the fast path must actually be exercised, or this test proves nothing
    expect(fast).toBeGreaterThan(300);
  });
});
