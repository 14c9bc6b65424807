// Empties dist/ before tsc writes it, so files that a build no longer emits (old source maps, a deleted
// module's output) are neither packed nor run by the tests.
import fs from 'node:fs';
fs.rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
