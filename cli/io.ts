/**
 * Where the command writes. Results go to stdout (a table, or JSON with --json); everything else — progress,
 * errors, engine logs with --verbose — goes to stderr, so `spokefleet plan --json | jq` always parses.
 */

export interface Writer {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Io {
  stdout: Writer;
  stderr: Writer;
  env: NodeJS.ProcessEnv;
  /** Relative paths (--config, --sandbox) resolve against this. */
  cwd: string;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Writes one line (newline added). */
export function println(writer: Writer, line = ''): void {
  writer.write(`${line}\n`);
}

/**
 * "reconciled 3/10 clusters…" on one rewritten stderr line, only when stderr is a terminal: redirected or piped
 * output stays quiet and machine-readable.
 */
export class Progress {
  private shown = false;
  private readonly enabled: boolean;

  constructor(
    private readonly stderr: Writer,
    enabled = true,
  ) {
    this.enabled = enabled && stderr.isTTY === true;
  }

  update(text: string): void {
    if (!this.enabled) return;
    this.stderr.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  /** Clears the line so the result that follows starts clean. */
  done(): void {
    if (!this.shown) return;
    this.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}
