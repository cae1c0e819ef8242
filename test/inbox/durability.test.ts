// Nothing acknowledged is ever lost: a worker killed mid-job, or Redis flushed between receipt
// and processing, still ends with every stored event processed exactly once on the timeline.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sweepInbox } from '../../jobs/inbox-sweep.job';
import { startHarness, testEnv, waitFor, wecomEventXml, nowSeconds, type Harness } from '../support/harness';

const EXT = 'wmDURABLE0000000000000000001';
const LOCK_MS = 1500;

function seed(h: Harness) {
  h.fake.contacts.set(EXT, {
    external_contact: { external_userid: EXT, name: '李姐', type: 1 },
    follow_user: [{ userid: 'zhangsan', createtime: 1764000000, tags: [{ group_name: '等级', tag_name: '金卡', tag_id: 'etGOLD', type: 1 }] }],
  });
}

const addEvent = () =>
  wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds(), MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: EXT });

async function eventStatus(h: Harness) {
  const rows = await h.app.db.query('SELECT id, status, attempts FROM inbound_event');
  return rows as { id: string; status: string; attempts: number }[];
}

async function timelineCount(h: Harness) {
  const [row] = await h.app.db.query(
    `SELECT COUNT(*) AS n FROM timeline_entry t JOIN customer_identity i ON i.customer_id = t.customer_id WHERE i.channel = 'wecom' AND i.external_id = ?`,
    [EXT],
  );
  return Number(row.n);
}

function spawnWorker(h: Harness): Promise<ChildProcess> {
  // node itself runs the worker (tsx as a loader, not its CLI, which would put the worker in a grandchild we could not kill)
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/worker-process.ts')], {
    env: { ...process.env, ...testEnv({ TEST_QUEUE_LOCK_MS: String(LOCK_MS) }, h.fake.env()) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

describe('durability', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ queueLockMs: LOCK_MS });
    seed(h);
  });
  afterEach(() => h.close());

  it('a worker killed mid-job loses nothing: after restart the event is processed once', async () => {
    const held = h.fake.hold('externalcontact/get');
    const child = await spawnWorker(h);
    expect((await h.sendCallback(addEvent())).status).toBe(200);
    // the job is in flight: the worker is waiting on the WeCom API
    await waitFor(async () => h.fake.calls.some((c) => c.path === 'externalcontact/get'), 10_000, 'worker to call WeCom');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(() => process.kill(child.pid!, 0)).toThrow(); // really gone
    held.release();
    expect((await eventStatus(h))[0].status).toBe('received');

    h.startWorker(); // the restarted worker: Bull's stalled check hands it the dead worker's job
    await waitFor(async () => (await eventStatus(h))[0].status === 'processed', 15_000, 'event processed after restart');
    expect(await timelineCount(h)).toBe(1);
    const profile = await h.getJson(`/api/identities/wecom/${EXT}`);
    expect(profile.name).toBe('李姐');
    expect(profile.tags).toEqual([{ name: '金卡', group: '等级', source: 'wecom' }]);
  });

  it('Redis flushed between receipt and processing loses nothing: the sweep re-enqueues', async () => {
    expect((await h.sendCallback(addEvent())).status).toBe(200);
    await waitFor(async () => (await h.app.queues.inbound.getJobCounts()).waiting === 1, 5000, 'job enqueued');
    await h.app.redis.flushdb();
    expect((await h.app.queues.inbound.getJobCounts()).waiting).toBe(0);

    h.startWorker();
    await new Promise((r) => setTimeout(r, 300));
    expect((await eventStatus(h))[0].status).toBe('received'); // nothing to do: the job is gone
    expect(await sweepInbox(h.app)).toBe(1);
    await waitFor(async () => (await eventStatus(h))[0].status === 'processed', 10_000, 'processed after sweep');
    expect(await timelineCount(h)).toBe(1);
    // a second sweep finds nothing left
    expect(await sweepInbox(h.app)).toBe(0);
  });

  it('a job run twice (a retry after a crash after commit) adds nothing twice', async () => {
    expect((await h.sendCallback(addEvent())).status).toBe(200);
    h.startWorker();
    const [ev] = await waitFor(async () => {
      const rows = await eventStatus(h);
      return rows[0]?.status === 'processed' ? rows : null;
    }, 10_000, 'processed');
    // pretend the process died after the work committed but before the event was marked processed
    await h.app.db.query(`UPDATE inbound_event SET status = 'received' WHERE id = ?`, [ev.id]);
    await sweepInbox(h.app);
    await waitFor(async () => (await eventStatus(h))[0].status === 'processed', 10_000, 'processed again');
    expect(await timelineCount(h)).toBe(1);
    const [{ n }] = await h.app.db.query('SELECT COUNT(*) AS n FROM customer');
    expect(Number(n)).toBe(1);
  });
});
