// Customers from CSV (name, phone, email, wecomExternalUserId, unionid, birthday, tags): each row is
// matched to an existing customer by any of its identities or creates one; its identities are
// attached, name and birthday filled in where the profile has none (PATCH /api/customers/:id
// overrides), tags (`;`-separated) added as manual tags. Batches of rows share a transaction; a
// batch that fails is retried row by row. A bad row is reported and skipped, never the import.
import type { Readable } from 'node:stream';
import { MAX_REPORTED_ERRORS, readCsv, type ImportError } from '../platform/csv';
import { parseBirthday, resolveCustomer, type IdentityRef } from './customers';
import type { Domain } from '../platform/domain';
import { normalizeEmail, normalizePhone } from './identity';
import { Invalid } from '../platform/errors';
import { addManualTags, upsertManualTag } from './tags';
import { inTransaction } from '../platform/tx';

export const CUSTOMER_CSV_COLUMNS = ['name', 'phone', 'email', 'wecomExternalUserId', 'unionid', 'birthday', 'tags'] as const;
const IDENTITY_COLUMNS = ['phone', 'email', 'wecomExternalUserId', 'unionid'];
export const MAX_TAGS_PER_ROW = 50;

export interface CustomerImportResult {
  /** rows applied (created + matched) */
  imported: number;
  created: number;
  /** rows that matched an existing customer */
  matched: number;
  /** rows with errors (listed) */
  skipped: number;
  errors: ImportError[];
  errorsTruncated: boolean;
}

interface CustomerRow {
  line: number;
  identities: IdentityRef[];
  name: string | null;
  birthday: string | null;
  tags: string[];
}

function cell(r: Record<string, string>, col: string, max: number): string | null {
  const v = (r[col] ?? '').trim();
  if (!v) return null;
  if (v.length > max) throw new Invalid(col, `must be at most ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new Invalid(col, 'must not contain control characters');
  return v;
}

function parseRow(line: number, r: Record<string, string>): CustomerRow {
  const rawPhone = cell(r, 'phone', 32);
  const phone = rawPhone ? normalizePhone(rawPhone) : null;
  if (rawPhone && !phone) throw new Invalid('phone', 'is not a phone number');
  const rawEmail = cell(r, 'email', 254);
  const email = rawEmail ? normalizeEmail(rawEmail) : null;
  if (rawEmail && !email) throw new Invalid('email', 'is not an email address');
  const wecom = cell(r, 'wecomExternalUserId', 191);
  const unionid = cell(r, 'unionid', 191);
  const identities: IdentityRef[] = [];
  if (wecom) identities.push({ channel: 'wecom', externalId: wecom });
  if (unionid) identities.push({ channel: 'wechat_unionid', externalId: unionid });
  if (phone) identities.push({ channel: 'phone', externalId: phone });
  if (email) identities.push({ channel: 'email', externalId: email });
  if (!identities.length) throw new Invalid('phone', 'a row needs at least one of phone, email, wecomExternalUserId, unionid');
  const rawBirthday = cell(r, 'birthday', 10);
  const birthday = rawBirthday ? parseBirthday(rawBirthday) : null;
  if (rawBirthday && !birthday) throw new Invalid('birthday', 'must be a real date as YYYY-MM-DD or --MM-DD');
  const tags = [...new Set((r.tags ?? '').split(';').map((t) => t.trim()).filter(Boolean))];
  if (tags.length > MAX_TAGS_PER_ROW) throw new Invalid('tags', `at most ${MAX_TAGS_PER_ROW} tags a row`);
  const long = tags.find((t) => t.length > 128);
  if (long) throw new Invalid('tags', `tag "${long.slice(0, 20)}…" is over 128 characters`);
  return { line, identities, name: cell(r, 'name', 128), birthday, tags };
}

export async function importCustomers(d: Domain, input: Readable, opts: { batchSize?: number } = {}): Promise<CustomerImportResult> {
  const batchSize = opts.batchSize ?? 200;
  const res = { created: 0, matched: 0, skipped: 0 };
  const errors: ImportError[] = [];
  let errorsTruncated = false;
  const addError = (e: ImportError) => {
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
    else errorsTruncated = true;
  };
  let batch: CustomerRow[] = [];

  const applyRow = async (em: Parameters<Parameters<typeof inTransaction>[1]>[0], row: CustomerRow, now: Date) => {
    const { customerId, created } = await resolveCustomer(em, row.identities, now, now);
    if (row.name || row.birthday) {
      await em.query(`UPDATE customer SET name = COALESCE(name, ?), birthday = COALESCE(birthday, ?), updated_at = ? WHERE id = ?`, [row.name, row.birthday, now, customerId]);
    }
    const tagIds: string[] = [];
    for (const t of row.tags) tagIds.push(await upsertManualTag(em, t, now));
    await addManualTags(em, customerId, tagIds, now);
    return created;
  };

  const flush = async () => {
    if (!batch.length) return;
    const todo = batch;
    batch = [];
    try {
      const c = await inTransaction(d.db, async (em) => {
        const now = d.now();
        let created = 0;
        for (const row of todo) if (await applyRow(em, row, now)) created++;
        return created;
      });
      res.created += c;
      res.matched += todo.length - c;
    } catch (batchErr) {
      d.log.warn({ err: (batchErr as Error).message, rows: todo.length }, 'customer import batch failed; retrying row by row');
      for (const row of todo) {
        try {
          const created = await inTransaction(d.db, (em) => applyRow(em, row, d.now()));
          if (created) res.created++;
          else res.matched++;
        } catch (err) {
          res.skipped++;
          addError({ line: row.line, field: 'row', message: `could not be stored: ${(err as Error).message.slice(0, 200)}` });
        }
      }
    }
  };

  let sawIdentityColumn = false;
  for await (const ev of readCsv(input, { known: CUSTOMER_CSV_COLUMNS, required: [] })) {
    if (ev.kind === 'unreadable') {
      res.skipped++;
      addError({ line: ev.line, field: 'row', message: ev.message });
      continue;
    }
    if (!sawIdentityColumn) {
      if (!IDENTITY_COLUMNS.some((c) => c in ev.record)) throw new Invalid('header', `needs at least one of the columns ${IDENTITY_COLUMNS.join(', ')}`);
      sawIdentityColumn = true;
    }
    try {
      batch.push(parseRow(ev.line, ev.record));
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      res.skipped++;
      addError({ line: ev.line, field: err.field, message: err.message });
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return { imported: res.created + res.matched, ...res, errors, errorsTruncated };
}
