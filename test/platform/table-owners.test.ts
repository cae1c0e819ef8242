// One owner per table: every statement that writes a table (INSERT, REPLACE, UPDATE, DELETE in SQL,
// or a TypeORM write) sits in the module that owns it; every other module calls that owner. Read from
// the source itself, so a write added in the wrong room fails here, and so does a new table nobody owns.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** table → the file (or folder, ending in /) allowed to write it */
const OWNERS: Record<string, string> = {
  customer: 'src/customers/',
  customer_identity: 'src/customers/',
  customer_follow: 'src/customers/follows.ts',
  tag: 'src/customers/tags.ts',
  customer_tag: 'src/customers/tags.ts',
  staff_member: 'src/customers/staff.ts',
  timeline_entry: 'src/customers/timeline.ts',
  tmp_rfm: 'src/customers/lifecycle.ts',
  consent_event: 'src/consent/consent.ts',
  customer_consent: 'src/consent/consent.ts',
  address_consent: 'src/consent/consent.ts',
  inbound_event: 'src/inbox/inbox.ts',
  wecom_kf_cursor: 'src/inbox/wecom/on-kf-message.ts',
  delivery: 'src/sending/deliveries.ts',
  contact_policy: 'src/sending/contact-policy.ts',
  shop_order: 'src/orders/orders.ts',
  shop_order_item: 'src/orders/orders.ts',
  shop_order_refund: 'src/orders/orders.ts',
  customer_rhythm: 'src/orders/',
  category_rhythm: 'src/orders/',
  campaign: 'src/outreach/campaigns.ts',
  campaign_candidate: 'src/outreach/sweep.ts',
  coupon: 'src/outreach/coupons.ts',
  suppressed_address: 'src/consent/suppression.ts',
};

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** The code without comments (line comments, and the lines of block comments). */
function code(file: string): string {
  return fs
    .readFileSync(path.join(ROOT, file), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l))
    .map((l) => l.replace(/\s\/\/\s.*$/, ''))
    .join('\n');
}

// `ON DUPLICATE KEY UPDATE col = …` and `FOR UPDATE` are not writes of a table
const SQL_WRITE = /(?<!KEY\s)\b(INSERT\s+(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+`?([a-z_][a-z0-9_]*)/g;
// a repository's or an EntityManager's write (Map.delete and Hmac.update are not)
const ORM_WRITE = /(\b(?:em|db|manager|runner|repo\w*)|getRepository\([^)]*\)|createQueryBuilder\([^)]*\))\s*\.\s*(save|insert|update|upsert|delete|remove|softDelete|increment|decrement|execute)\s*\(/g;

/** Every table write in the application code: [table, file]. */
function writes(): { table: string; file: string }[] {
  const files = ['src', 'handlers', 'jobs', 'channels', 'config'].flatMap(sources);
  return files.flatMap((file) => [...code(file).matchAll(SQL_WRITE)].map((m) => ({ table: m[2], file })));
}

const owns = (owner: string, file: string) => (owner.endsWith('/') ? file.startsWith(owner) : file === owner);

describe('one owner per table', () => {
  it('finds the writes it checks (the scan itself works)', () => {
    const found = writes();
    expect(found).toContainEqual({ table: 'delivery', file: 'src/sending/deliveries.ts' });
    expect(found).toContainEqual({ table: 'customer', file: 'src/customers/customers.ts' });
    expect(found.length).toBeGreaterThan(40);
  });

  it('has every table the migrations create written by its owner only', () => {
    const created = new Set(
      sources('entities/migrations').flatMap((f) => [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(/CREATE TABLE\s+`?([a-z_]+)/g)].map((m) => m[1])),
    );
    for (const table of created) expect(OWNERS).toHaveProperty(table);
    const strays = writes().filter((w) => !(w.table in OWNERS) || !owns(OWNERS[w.table], w.file));
    expect(strays).toEqual([]);
  });

  it('has no TypeORM writes (all writes are the owners’ SQL)', () => {
    const files = ['src', 'handlers', 'jobs'].flatMap(sources);
    const orm = files.flatMap((file) => [...code(file).matchAll(ORM_WRITE)].map((m) => ({ file, call: m[0] })));
    expect(orm).toEqual([]);
  });

  it('leaves no SQL in handlers/ and jobs/: they call the domain', () => {
    const files = ['handlers', 'jobs'].flatMap(sources);
    // the health check's `SELECT 1` (does MySQL answer?) names no table
    const sql = files.flatMap((file) => [...code(file).matchAll(/['"`]\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE)\s[^'"`]*\b(FROM|INTO|SET)\b/g)].map((m) => ({ file, sql: m[0] })));
    expect(sql).toEqual([]);
  });
});
