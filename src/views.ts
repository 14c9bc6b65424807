import fs from 'node:fs';
import type { ResourceProvider } from './resources.js';
import { VIEW_URIS } from './tools/define.js';

/**
 * MCP App views (the io.modelcontextprotocol/ui extension): small self-contained HTML pages that hosts
 * which support the extension show beside a tool's result. Tools link to them with
 * `_meta.ui.resourceUri`; hosts without the extension ignore the link and read the result's text.
 * The pages are built from views/*.html into dist/views/ and read on first use only.
 */
export const VIEW_MIME = 'text/html;profile=mcp-app';

export const VIEWS = {
  job: { uri: VIEW_URIS.job, file: 'job.html', name: 'job', title: 'Job progress', description: 'Progress of an import or export job: files and bytes, rate, failed files, Cancel.' },
  browse: { uri: VIEW_URIS.browse, file: 'browse.html', name: 'browse', title: 'Browse', description: 'A page of a connector listing as a table, with next page and import actions.' },
} as const;

const cache = new Map<string, string>();

function html(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = fs.readFileSync(new URL(`./views/${file}`, import.meta.url), 'utf8');
    cache.set(file, text);
  }
  return text;
}

export const views: ResourceProvider = {
  async list(_app, _org, cursor) {
    // One page, whole: a cursor for it is one nobody made.
    if (cursor) throw new SyntaxError('cursor');
    return { resources: Object.values(VIEWS).map((v) => ({ uri: v.uri, name: v.name, title: v.title, description: v.description, mimeType: VIEW_MIME })) };
  },
  async read(_app, _org, uri) {
    const v = Object.values(VIEWS).find((x) => x.uri === uri);
    if (!v) return null;
    // No network and no remote resources: the page carries everything it runs (its CSP says so too).
    return { contents: [{ uri, mimeType: VIEW_MIME, text: html(v.file), _meta: { ui: { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true } } }] };
  },
  async complete() {
    return [];
  },
};
