/** The demo's tables: the CLI's renderer (the sandbox may use production code; never the other way round). */
import { formatTable } from '../cli/table';

export { formatTable };

export function printTable(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): void {
  console.log(formatTable(rows, columns));
}
