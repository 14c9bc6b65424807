/**
 * README "Configuration": "A bad value stops startup with an error naming the flag or variable it came
 * from". CLOUDPORT_MIN_INTERVAL_MS is a row of that table (default 60000): a value that is not a positive
 * integer number of milliseconds ("abc", "30s", "-5") stops startup with exit code 1 and an error naming
 * CLOUDPORT_MIN_INTERVAL_MS, as every other numeric variable does (e.g. CLOUDPORT_LEASE_MS=100), rather
 * than being dropped for the default without a word.
 */
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

describe('CLOUDPORT_MIN_INTERVAL_MS is checked like the other settings', () => {
  it('control: a bad CLOUDPORT_LEASE_MS stops startup naming the variable', async () => {
    const r = await runCli(['--data-dir', tempDir()], { CLOUDPORT_LEASE_MS: '100' }, '');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CLOUDPORT_LEASE_MS');
  }, 30_000);

  for (const value of ['abc', '30s', '-5']) {
    it(`CLOUDPORT_MIN_INTERVAL_MS=${value} stops startup naming the variable`, async () => {
      const r = await runCli(['--data-dir', tempDir()], { CLOUDPORT_MIN_INTERVAL_MS: value }, '');
      expect(r.code, r.stderr.slice(-400)).toBe(1);
      expect(r.stderr).toContain('CLOUDPORT_MIN_INTERVAL_MS');
    }, 30_000);
  }
});
