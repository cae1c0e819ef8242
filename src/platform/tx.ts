// Transactions that retry on the conflicts concurrent workers can cause (duplicate key on a
// racing insert, deadlock): the whole unit runs again and finds what the other worker wrote.
import type { DataSource, EntityManager } from 'typeorm';
import { isDuplicateKey } from './db';

function isDeadlock(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  const code = e?.code ?? e?.driverError?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

export async function inTransaction<T>(db: DataSource, work: (em: EntityManager) => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (err) {
      if (attempt >= tries || !(isDuplicateKey(err) || isDeadlock(err))) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}
