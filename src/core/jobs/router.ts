import type { ClaimedFile, JobRow } from '../../store/types.js';
import type { JobHandlers } from './engine.js';

/**
 * One engine, several job kinds: hands each listing, file and finalized job to the handlers of
 * its kind ("import", "export", "reindex"). Jobs of an unknown kind go to `fallback`.
 */
export class JobRouter implements JobHandlers {
  constructor(
    private readonly byKind: Record<string, JobHandlers>,
    private readonly fallback: JobHandlers,
  ) {}

  private of(kind: string | undefined): JobHandlers {
    return (kind && this.byKind[kind]) || this.fallback;
  }

  listNext(job: JobRow, owner: string, signal: AbortSignal): Promise<void> {
    return this.of(job.kind).listNext(job, owner, signal);
  }

  processFile(file: ClaimedFile, owner: string, signal: AbortSignal, release: (waitMs?: number) => void): Promise<void> {
    return this.of(file.kind).processFile(file, owner, signal, release);
  }

  onFinalized(job: JobRow): Promise<void> {
    return this.of(job.kind).onFinalized(job);
  }
}
