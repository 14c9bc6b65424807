/**
 * What binary content is, by its first bytes (file-type's signatures: images, audio, video, archives,
 * fonts, executables …), for what read_item and resources say of an item without text: a key's
 * content type is often only S3's default, application/octet-stream, and a name can lie. Asked when
 * an item is read, not at import, so a bucket of binaries costs nothing more to import. file-type is
 * loaded on first use.
 */

/** The bytes file-type looks at (its own sample size). */
export const SNIFF_BYTES = 4100;

/** A content type that says nothing of the content. */
export const GENERIC_TYPE = /^\s*(application\/octet-stream|binary\/octet-stream|application\/x-binary|application\/unknown|application\/binary)?\s*(;|$)/i;

let fileType: Promise<typeof import('file-type')> | undefined;

/** The detected MIME type, or null when no signature matches (or the bytes cannot be looked at). */
export async function binaryType(head: Uint8Array): Promise<string | null> {
  try {
    const { fileTypeFromBuffer } = await (fileType ??= import('file-type'));
    return (await fileTypeFromBuffer(head.subarray(0, SNIFF_BYTES)))?.mime ?? null;
  } catch {
    return null;
  }
}
