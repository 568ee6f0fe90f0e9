import type { LogEntry } from '../../shared/events/types';

/**
 * Where the local cloud's audit entries go, like a Cloud Logging sink with a Pub/Sub destination.
 * Implementations: direct Eventarc-style CloudEvent delivery to the functions, the real Pub/Sub emulator,
 * or a memory buffer for tests. `emit` must not throw into the stand-in that called it.
 */
export interface AuditSink {
  emit(entry: LogEntry): void;
}

/** Keeps entries in memory; tests read `entries` or wait for one. */
export class MemorySink implements AuditSink {
  readonly entries: LogEntry[] = [];
  private waiters: Array<{ match: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }> = [];

  emit(entry: LogEntry): void {
    this.entries.push(entry);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(entry)) return true;
      w.resolve(entry);
      return false;
    });
  }

  waitFor(match: (e: LogEntry) => boolean, timeoutMs = 5000): Promise<LogEntry> {
    const found = this.entries.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching audit entry in time')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }
}

/** Fans one entry out to several sinks. */
export class TeeSink implements AuditSink {
  constructor(private readonly sinks: AuditSink[]) {}
  emit(entry: LogEntry): void {
    for (const sink of this.sinks) sink.emit(entry);
  }
}
