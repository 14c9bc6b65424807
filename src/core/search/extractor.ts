import type { Logger } from '../../shared/log.js';
import type { Store, TextPayload } from '../../store/types.js';
import { chunkText } from './chunks.js';
import type { Extracted, ExtractPool } from './extract/pool.js';
import { detect, plainlyBinary } from './extract/sniff.mjs';

function unsupported(detail = 'binary content'): TextPayload {
  return { status: 'unsupported', detail, format: 'binary', derived: false, bytes: 0, chunks: [] };
}

/** An extraction result as the store keeps it: the text cut into chunks for the search index. */
export function toPayload(r: Extracted): TextPayload {
  const chunks = r.text ? chunkText(r.text) : [];
  return { status: r.status, detail: r.detail, format: r.format, derived: r.derived, bytes: Buffer.byteLength(r.text, 'utf8'), chunks };
}

/**
 * The import pipeline's step between download and landing: the text of a downloaded file, unless its
 * content (by hash) has one already. It never fails a file: whatever goes wrong is the text's status.
 */
export class TextExtractor {
  constructor(
    private readonly store: Store,
    readonly pool: ExtractPool,
    private readonly log?: Logger,
  ) {}

  async forFile(sha256: string, path: string, contentType: string, key: string, head?: Buffer): Promise<TextPayload | undefined> {
    // Binary content that is no document needs neither the store nor a worker: the commit records it.
    if (head && plainlyBinary(head, contentType)) return unsupported(detect(head) === 'gzip' ? 'gzip-compressed' : undefined);
    try {
      // Asked of the store each time: a text goes with the last item that holds its content.
      if ((await this.store.textsKnown([sha256])).has(sha256)) return undefined;
      return toPayload(await this.pool.extract({ path, contentType, key }));
    } catch (e) {
      this.log?.warn('text extraction failed', { error: (e as Error).message });
      return { status: 'failed', detail: (e as Error).message.slice(0, 300), format: 'unknown', derived: false, bytes: 0, chunks: [] };
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
