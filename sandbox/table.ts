/** A plain-text table for terminals: one header row, columns padded to their widest cell. */
export function formatTable(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
): string {
  if (rows.length === 0) return '(nothing)';
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

export function printTable(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): void {
  console.log(formatTable(rows, columns));
}
