import { expect } from 'vitest';
import type { StorageProvider } from '../../src/providers/types.js';

/** Lists `prefix` page by page (`maxKeys` per page, each page checked not to exceed it): the keys in order and the page count. */
export async function listAllPages(provider: StorageProvider, prefix: string, maxKeys: number): Promise<{ seen: string[]; pages: number }> {
  const seen: string[] = [];
  let token: string | null = null;
  let pages = 0;
  do {
    const page: Awaited<ReturnType<StorageProvider['list']>> = await provider.list({ prefix, token, maxKeys });
    expect(page.objects.length).toBeLessThanOrEqual(maxKeys);
    seen.push(...page.objects.map((o) => o.key));
    token = page.nextToken;
    pages++;
  } while (token);
  return { seen, pages };
}
