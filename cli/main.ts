/**
 * Entry point of the `spokefleet` command (bundled to dist/cli.js; bin/spokefleet.js loads it). Everything is in
 * ./program; this only connects it to the process and exits with the command's code once output is flushed.
 */
import { processIo } from './io';
import { run } from './program';

// `spokefleet plan --json | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write('', () => resolve()));

run(process.argv.slice(2), processIo())
  .catch((error: unknown) => {
    process.stderr.write(`error: ${String(error)}\n`);
    return 1;
  })
  .then(async (code) => {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    // Client libraries keep channels open; the command is done, so the process is too.
    process.exit(code);
  });
