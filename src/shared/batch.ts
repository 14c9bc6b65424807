/**
 * Group commit: items pushed within `delayMs` of each other (or while the previous batch still runs)
 * are handed to `run` together, up to `max` at a time. `run` answers one output per item, in order;
 * when it throws, every item of that batch is rejected with the error.
 */
export class Batcher<I, O> {
  private items: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly opts: { max: number; delayMs: number },
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push({ item, resolve, reject });
      if (this.running) return; // the running batch flushes the rest when it ends
      if (this.items.length >= this.opts.max) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.opts.delayMs);
    });
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.flush();
  }

  private async flush(): Promise<void> {
    const batch = this.items.splice(0, this.opts.max);
    if (!batch.length) return;
    this.running = true;
    try {
      const out = await this.run(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(out[i] as O));
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      this.running = false;
      // Whatever arrived meanwhile has waited long enough.
      if (this.items.length) this.flushNow();
    }
  }
}
