// Builds the pages in views/ into dist/views/: the MCP App views get the ext-apps App library (its
// prebuilt app-with-deps bundle) inline; every page gets a Content-Security-Policy that allows exactly
// its own inline script and style (by hash), nothing remote, no eval, and no network but the console's
// own /mcp. The HTTP front door sends the console's policy as a header too (with frame-ancestors).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist', 'views');
const require = createRequire(import.meta.url);
const bundle = fs.readFileSync(path.join(path.dirname(require.resolve('@modelcontextprotocol/ext-apps/app-with-deps')), 'app-with-deps.js'), 'utf8');

// The bundle ends with one `export{a as B,…}`: in an inline script it becomes an object the view reads.
const m = /export\{([^}]*)\};?\s*$/.exec(bundle);
if (!m) throw new Error('build-views: the app-with-deps bundle has no trailing export list');
const names = m[1].split(',').map((p) => p.trim().split(/\s+as\s+/)).map(([local, exported]) => `${JSON.stringify(exported ?? local)}:${local}`);
const library = `${bundle.slice(0, m.index)};const ExtApps={${names.join(',')}};`;

const shared = fs.readFileSync(path.join(root, 'views', 'shared.js'), 'utf8');
const hash = (s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
fs.mkdirSync(out, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'views')).filter((f) => f.endsWith('.html'))) {
  let html = fs.readFileSync(path.join(root, 'views', file), 'utf8');
  html = html.replace('/*EXT_APPS*/', () => library).replace('/*SHARED*/', () => shared);
  const scripts = [...html.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map((s) => s[1]);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((s) => s[1]);
  // The console (served by the HTTP front door) talks to its own /mcp; the MCP App views reach nothing.
  const connect = file === 'console.html' ? " connect-src 'self';" : '';
  const csp = `default-src 'none'; script-src ${scripts.map(hash).join(' ')}; style-src ${styles.map(hash).join(' ')};${connect} img-src data:; base-uri 'none'; form-action 'none'`;
  html = html.replace('<meta charset="utf-8">', `<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="${csp}">`);
  fs.writeFileSync(path.join(out, file), html);
}
