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

/** Fit a table into `maxWidth` by narrowing the named columns (widest first), never below their header. */
export interface Fit {
  maxWidth: number;
  /** Headers (as given in the column definitions) whose cells may be shortened. */
  shrink: readonly string[];
}

const SEPARATOR = '  ';
/** Narrowest a shortened column gets, so that what is left still tells rows apart. */
const MIN_SHRUNK = 8;

/** `gke-us-east4-very-long-name` → `gke-us-e…ong-name`: both ends kept, as they tell names apart. */
export function shorten(value: string, width: number): string {
  if (value.length <= width) return value;
  if (width <= 1) return value.slice(0, width);
  const tail = Math.floor((width - 1) / 2);
  return `${value.slice(0, width - 1 - tail)}…${tail > 0 ? value.slice(-tail) : ''}`;
}

export function renderTable<Row>(
  rows: readonly Row[],
  columns: ReadonlyArray<Column<Row>>,
  fit?: Fit,
): string {
  if (rows.length === 0) return '(nothing)';
  const cells = rows.map((row) => columns.map((c) => String(c.cell(row) ?? '')));
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  if (fit) narrow(widths, headers, columns, fit);
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => shorten(v, widths[i]).padEnd(widths[i]))
      .join(SEPARATOR)
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** Takes one character at a time from the widest shrinkable column until the table fits or none can give more. */
function narrow<Row>(
  widths: number[],
  headers: readonly string[],
  columns: ReadonlyArray<Column<Row>>,
  fit: Fit,
): void {
  const total = () => widths.reduce((sum, w) => sum + w, 0) + SEPARATOR.length * (widths.length - 1);
  const floor = headers.map((h) => Math.max(h.length, MIN_SHRUNK));
  const shrinkable = columns.map((c, i) => (fit.shrink.includes(c.header) ? i : -1)).filter((i) => i >= 0);
  while (total() > fit.maxWidth) {
    const candidates = shrinkable.filter((i) => widths[i] > floor[i]);
    if (candidates.length === 0) return;
    const widest = candidates.reduce((a, b) => (widths[b] > widths[a] ? b : a));
    widths[widest]--;
  }
}

/** The widest line of a rendered table, for tests and for choosing a layout. */
export function tableWidth(table: string): number {
  return Math.max(0, ...table.split('\n').map((l) => l.length));
}
