// Bundles the server (src/cli.ts and what it imports) into dist/cli.js and chunks beside it, over the
// tsc output that `npm run build` wrote just before. A process that starts from one file and a few chunks
// loads about a third fewer CPU-milliseconds than one resolving ~900 ES modules one by one (Node 20's
// loader costs more per module than per byte): docs/decisions/bundled-server.md has the figures.
//
// - Dynamic imports stay lazy: each becomes a chunk (the providers, PostgreSQL, the HTTP front door).
// - Worker threads (hash-worker.mjs, the extraction worker) are not bundled: they run from tsc's output in
//   dist/, which stays whole, and load what they need themselves.
// - Our modules resolve files next to themselves (`new URL('./views/…', import.meta.url)`, the worker
//   files, package.json). Every output file is written to dist/ itself, and in our own sources
//   `import.meta.url` is replaced by the URL the module has in tsc's layout (dist/<path>.js), so those
//   paths stay what they are unbundled. The script fails if an output lands anywhere else.
// - Packages stay external where bundling would move files they read from their own folder (Azure's
//   CRC64 WebAssembly; the Google clients) or are native (better-sqlite3). What only the worker threads
//   import (pdfjs-dist, mammoth, jszip) is not reached from here.
// - Whitespace and comments are left out (names and syntax stay): V8 keeps every loaded chunk's source
//   as a string for the life of the process, and one character above U+00FF anywhere in a file (a
//   comment's curly quote or dash) makes the whole string two bytes a character. Licence comments stay.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

const external = [
  'better-sqlite3', // native addon
  'pg-native', // pg's optional native binding, not installed
  '@azure/*', // @azure/storage-common reads crc64.wasm from its own folder
  // The Google clients: @google-cloud/storage is opened from its own folder (providers/gcs), and these
  // packages stay whole beside it (their dependencies include one that runs a script of its folder).
  '@google-cloud/*',
  '@googleapis/*',
  'google-auth-library',
];

/** Keeps `import.meta.url` of our own modules at their tsc location (see above). */
const tscLocation = {
  name: 'tsc-location',
  setup(b) {
    b.onLoad({ filter: /\.(ts|mjs)$/ }, async (args) => {
      if (!args.path.startsWith(src + path.sep)) return undefined;
      const text = await fs.promises.readFile(args.path, 'utf8');
      const loader = args.path.endsWith('.ts') ? 'ts' : 'js';
      if (!text.includes('import.meta.url')) return { contents: text, loader };
      const rel = path.relative(src, args.path).split(path.sep).join('/').replace(/\.ts$/, '.js');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(`./${rel}`)}, import.meta.url).href`), loader };
    });
  },
};

const result = await build({
  entryPoints: [path.join(src, 'cli.ts')],
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Bundled CommonJS packages call require() for Node's modules.
  banner: { js: "import { createRequire as __cloudportRequire } from 'node:module'; const require = __cloudportRequire(import.meta.url);" },
  chunkNames: 'chunk-[name]-[hash]',
  minifyWhitespace: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [tscLocation],
});

for (const out of Object.keys(result.metafile.outputs)) {
  if (path.dirname(path.resolve(root, out)) !== dist) throw new Error(`bundle: ${out} is not in dist/ itself, so import.meta.url-relative paths would break`);
}
