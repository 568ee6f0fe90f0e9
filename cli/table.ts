/**
 * Plain-text tables for terminals: one header row, columns padded to their widest cell. A table is a list of
 * column definitions (header, cell) so a command can add columns (`-o wide`, more views) without a second
 * renderer.
 */

/** One column: its header (upper-cased when printed) and how a row fills it. */
export interface Column<Row> {
  header: string;
  cell: (row: Row) => unknown;
}

/** Rows of records keyed by column name: the simple case. */
export function formatTable(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
): string {
  return renderTable(
    rows,
    columns.map((c) => ({ header: c, cell: (row: Record<string, unknown>) => row[c] })),
  );
}

export function renderTable<Row>(rows: readonly Row[], columns: ReadonlyArray<Column<Row>>): string {
  if (rows.length === 0) return '(nothing)';
  const cells = rows.map((row) => columns.map((c) => String(c.cell(row) ?? '')));
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** The widest line of a rendered table, for tests and for choosing a layout. */
export function tableWidth(table: string): number {
  return Math.max(0, ...table.split('\n').map((l) => l.length));
}
