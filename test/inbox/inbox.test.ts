// The durable inbox under bursts: many stores at once are committed in few statements, and a burst
// of large payloads is split so no statement exceeds the server's packet limit.
import { startHarness, type Harness } from '../support/harness';

describe('Inbox.store', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('a burst of 20 payloads of ~1 MB each (20 MB together) is stored, none refused', async () => {
    const [{ packet }] = await h.app.db.query('SELECT @@max_allowed_packet AS packet');
    const big = '邮'.repeat(350_000); // ~1 MB of UTF-8
    const n = Math.ceil((Number(packet) * 1.25) / (big.length * 3));
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        h.app.inbox.store({ channel: 'email', type: 'email/rfc822/message', dedupKey: `big:${i}`, payload: { text: big, i }, receivedAt: new Date() }),
      ),
    );
    expect(results.every((r) => !r.duplicate && r.status === 'received')).toBe(true);
    expect(new Set(results.map((r) => r.id)).size).toBe(n);
    const [{ c }] = await h.app.db.query(`SELECT COUNT(*) AS c FROM inbound_event WHERE dedup_key LIKE 'big:%'`);
    expect(Number(c)).toBe(n);
  });

  it('repeats inside one burst: one row, the others told they are duplicates', async () => {
    const rec = { channel: 'wecom', type: 'text', dedupKey: 'dup:1', payload: { MsgId: '1' }, receivedAt: new Date() };
    const results = await Promise.all([h.app.inbox.store(rec), h.app.inbox.store(rec), h.app.inbox.store({ ...rec, dedupKey: 'dup:2' })]);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(2);
    expect(results[0].id).toBe(results[1].id);
  });
});
