// Streaming CSV (csv-parse) for the imports: a header line names the columns (matched without regard
// to case or surrounding spaces), rows come one at a time with their line number, in file order, and a
// row that cannot be read (more cells than the header, a quote never closed) is reported as
// unreadable instead of ending the import. A quote inside a field is kept as a character.
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { Invalid } from './errors';

/** A row that was not imported, and why (`field` is a CSV column, or 'row' / 'header'). */
export interface ImportError {
  line: number;
  field: string;
  message: string;
}

/** An import reports at most this many errors (and says when there were more). */
export const MAX_REPORTED_ERRORS = 1000;

export type CsvEvent =
  | { kind: 'row'; line: number; record: Record<string, string> }
  | { kind: 'unreadable'; line: number; message: string };

/** The longest single record we read (a runaway quote would otherwise swallow the whole file). */
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Rows of `input`. Columns outside `known` are ignored; a header lacking one of `required` throws
 * Invalid('header') before any row is read.
 */
export async function* readCsv(input: Readable, opts: { known: readonly string[]; required: readonly string[] }): AsyncGenerator<CsvEvent> {
  const byLower = new Map(opts.known.map((k) => [k.toLowerCase(), k]));
  const unreadable: CsvEvent[] = [];
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count_less: true, // exporters drop trailing empty cells
    relax_quotes: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_BYTES,
    info: true,
    columns: (header: string[]) => {
      const names = header.map((h) => byLower.get(String(h).trim().toLowerCase()) ?? false);
      const missing = opts.required.filter((r) => !names.includes(r));
      if (missing.length) throw new Invalid('header', `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (expected ${opts.known.join(', ')})`);
      return names as unknown as string[]; // false = ignore this column
    },
    on_skip: (err) => {
      unreadable.push({ kind: 'unreadable', line: Number(err?.lines ?? 0), message: (err?.message ?? 'unreadable row').slice(0, 200) });
      return undefined;
    },
  });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  // the parser runs ahead of us: a skip it reported may belong after the record we are handing out
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (unreadable.length && unreadable[0].line < info.lines) yield unreadable.shift()!;
    yield { kind: 'row', line: info.lines, record };
  }
  while (unreadable.length) yield unreadable.shift()!;
}
