import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cloudport.js';

/**
 * A misspelled flag is a startup error (exit 1, nothing on stdout) that names the flag the user most
 * likely meant, and does not send them off with Node's advice about positional arguments (cloudport takes
 * none but its commands), which reads as if the flag could be passed after `--`.
 */
describe('a misspelled flag', () => {
  for (const [typo, meant] of [
    ['--data-dri', '--data-dir'],
    ['--datadir', '--data-dir'],
    ['--log-levle', '--log-level'],
    ['--read-onyl', '--read-only'],
  ] as const) {
    it(`${typo} suggests ${meant}`, async () => {
      const r = await runCli([typo, 'x']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(meant);
      expect(r.stderr).not.toMatch(/positional argument/);
    }, 30_000);
  }
});
