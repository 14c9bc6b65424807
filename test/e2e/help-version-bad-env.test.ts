import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cloudport.js';

/**
 * `cloudport --help` (README: "prints the same list" as the Configuration table) and `--version` answer
 * whatever the environment holds: a user whose CLOUDPORT_* variable has a bad value runs --help to learn
 * the valid values (and --version to report a bug), and gets them with exit 0 rather than the startup
 * error of the server they did not ask to start.
 */
describe('--help and --version with a bad setting in the environment', () => {
  for (const args of [['--help'], ['--version'], ['worker', '--help'], ['keys', '--help']]) {
    it(`${args.join(' ')} exits 0 and prints to stdout`, async () => {
      const r = await runCli(args, { CLOUDPORT_READ_ONLY: 'maybe', CLOUDPORT_WORKERS: 'many' });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
    }, 30_000);
  }
});
