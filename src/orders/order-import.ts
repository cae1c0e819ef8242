// Order history from CSV, one row per order item. Rows of one order (same orderId) must be
// together; they are grouped, validated as one order, and stored in batches (one transaction per
// batch; a batch that fails is retried order by order so one bad order costs only itself).
// Idempotent on orderId. History triggers nothing but order stats, rhythm and lifecycle: no coupon
// redemption, no attribution — the timeline shows the orders (source 'import').
import type { Readable } from 'node:stream';
import { MAX_REPORTED_ERRORS, readCsv, type ImportError } from '../platform/csv';
import type { Domain } from '../platform/domain';
import {
  MAX_ORDER_ITEMS,
  parseCouponCode,
  parseCurrency,
  parseMoney,
  parseOrderCustomer,
  parseOrderId,
  parseOrderItem,
  parsePlacedAt,
  refreshAfterOrders,
  storeOrder,
  type Order,
} from './orders';
import { Invalid } from '../platform/errors';
import { inTransaction } from '../platform/tx';

export const ORDER_CSV_COLUMNS = [
  'orderId',
  'placedAt',
  'total',
  'currency',
  'phone',
  'email',
  'wecomExternalUserId',
  'unionid',
  'name',
  'birthday',
  'sku',
  'itemName',
  'category',
  'quantity',
  'price',
  'couponCode',
] as const;
const REQUIRED = ['orderId', 'placedAt', 'total', 'currency', 'sku', 'itemName', 'quantity', 'price'] as const;
/** Order-level columns: given on the first row of an order; a later row may repeat them but not differ. */
const ORDER_LEVEL = ['placedAt', 'total', 'currency', 'phone', 'email', 'wecomExternalUserId', 'unionid', 'name', 'birthday', 'couponCode'] as const;

export interface ImportResult {
  /** orders stored by this import */
  imported: number;
  /** orders not stored: already there (same orderId), or with errors (listed) */
  skipped: number;
  errors: ImportError[];
  /** true when more errors happened than `errors` lists */
  errorsTruncated: boolean;
}

class ErrorLog {
  readonly list: ImportError[] = [];
  truncated = false;
  add(e: ImportError) {
    if (this.list.length < MAX_REPORTED_ERRORS) this.list.push(e);
    else this.truncated = true;
  }
}

interface Group {
  orderId: string;
  firstLine: number;
  rows: { line: number; record: Record<string, string> }[];
  error: ImportError | null;
}

/** One order from its rows, or the first error (line and field) that stops it. */
function orderOf(g: Group, tz: string): Order | ImportError {
  if (g.error) return g.error;
  const first = g.rows[0];
  let line = first.line;
  try {
    for (const row of g.rows.slice(1)) {
      line = row.line;
      for (const col of ORDER_LEVEL) {
        const v = row.record[col] ?? '';
        if (v !== '' && v !== (first.record[col] ?? '')) throw new Invalid(col, `differs from line ${first.line} of the same order`);
      }
    }
    if (g.rows.length > MAX_ORDER_ITEMS) throw new Invalid('orderId', `an order holds at most ${MAX_ORDER_ITEMS} items`);
    line = first.line;
    const r = first.record;
    const orderId = parseOrderId(r.orderId);
    const placedAt = parsePlacedAt(r.placedAt, 'placedAt', tz).toISOString();
    const total = parseMoney(r.total, 'total');
    const currency = parseCurrency(r.currency);
    const customer = parseOrderCustomer(
      { phone: r.phone, email: r.email, wecomExternalUserId: r.wecomExternalUserId, unionid: r.unionid, name: r.name, birthday: r.birthday },
      'customer',
    );
    const couponCode = parseCouponCode(r.couponCode);
    const items = g.rows.map((row) => {
      line = row.line;
      const it = row.record;
      return parseOrderItem({ sku: it.sku, name: it.itemName, category: it.category, quantity: it.quantity, price: it.price }, 'item');
    });
    return { orderId, customer, items, total, currency, placedAt, couponCode };
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    // in CSV column names: customer.phone → phone, item.name → itemName, customer (no identity) → phone
    const f = err.field;
    const field = f === 'customer' ? 'phone' : f.startsWith('customer.') ? f.slice(9) : f === 'item.name' ? 'itemName' : f.startsWith('item.') ? f.slice(5) : f;
    return { line, field, message: err.message };
  }
}

const isError = (x: Order | ImportError): x is ImportError => 'line' in x && 'message' in x;

/** Imports the CSV on `input`. Throws Invalid('header') when a required column is missing. */
export async function importOrders(d: Domain, input: Readable, opts: { timeZone: string; batchSize?: number }): Promise<ImportResult> {
  const batchSize = opts.batchSize ?? 200;
  const errors = new ErrorLog();
  const result = { imported: 0, skipped: 0 };
  const done = new Map<string, number>(); // orderId → first line, for orders already grouped
  const st: { group: Group | null } = { group: null }; // the order being read
  let batch: { order: Order; line: number }[] = [];

  const closeGroup = () => {
    const group = st.group;
    if (!group) return;
    done.set(group.orderId, group.firstLine);
    const o = orderOf(group, opts.timeZone);
    if (isError(o)) {
      errors.add(o);
      result.skipped++;
    } else {
      batch.push({ order: o, line: group.firstLine });
    }
    st.group = null;
  };

  const flush = async () => {
    if (!batch.length) return;
    const todo = batch;
    batch = [];
    try {
      const counts = await inTransaction(d.db, async (em) => {
        const now = d.now();
        let imported = 0;
        const customers: string[] = [];
        for (const { order } of todo) {
          const s = await storeOrder(em, order, { source: 'import', now });
          if (s.status === 'created') {
            imported++;
            customers.push(s.customerId);
          }
        }
        await refreshAfterOrders(em, customers, now, d.lifecycle);
        return { imported, skipped: todo.length - imported };
      });
      result.imported += counts.imported;
      result.skipped += counts.skipped;
    } catch (batchErr) {
      d.log.warn({ err: (batchErr as Error).message, orders: todo.length }, 'order import batch failed; retrying order by order');
      for (const { order, line } of todo) {
        try {
          const s = await inTransaction(d.db, async (em) => {
            const now = d.now();
            const stored = await storeOrder(em, order, { source: 'import', now });
            if (stored.status === 'created') await refreshAfterOrders(em, [stored.customerId], now, d.lifecycle);
            return stored;
          });
          if (s.status === 'created') result.imported++;
          else result.skipped++;
        } catch (err) {
          result.skipped++;
          errors.add({ line, field: 'orderId', message: `could not be stored: ${(err as Error).message.slice(0, 200)}` });
        }
      }
    }
  };

  for await (const ev of readCsv(input, { known: ORDER_CSV_COLUMNS, required: REQUIRED })) {
    if (ev.kind === 'unreadable') {
      errors.add({ line: ev.line, field: 'row', message: ev.message });
      // the lost row may be an item of the order being read, which would then be stored without it
      // (and a corrected file could not add it: imports are idempotent on orderId) — so that order waits
      const g = st.group;
      if (g) g.error ??= { line: g.firstLine, field: 'row', message: `order ${g.orderId} not imported: line ${ev.line} could not be read and may be one of its items; fix it and import again` };
      continue;
    }
    const orderId = (ev.record.orderId ?? '').trim();
    if (!orderId) {
      errors.add({ line: ev.line, field: 'orderId', message: 'is required' });
      continue;
    }
    const current = st.group;
    if (current && current.orderId === orderId) {
      current.rows.push({ line: ev.line, record: ev.record });
      continue;
    }
    closeGroup();
    const seenAt = done.get(orderId);
    if (seenAt !== undefined) {
      errors.add({ line: ev.line, field: 'orderId', message: `rows of order ${orderId} must be together: the order began at line ${seenAt} and was read without this row` });
      continue;
    }
    st.group = { orderId, firstLine: ev.line, rows: [{ line: ev.line, record: ev.record }], error: null };
    if (batch.length >= batchSize) await flush();
  }
  closeGroup();
  await flush();
  // an order's error is known when its last row has been read: report in file order
  return { ...result, errors: errors.list.sort((a, b) => a.line - b.line), errorsTruncated: errors.truncated };
}
