import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README "Configuration": "boolean variables take 1/0, true/false, yes/no or on/off". CLOUDPORT_EXTRACT
 * (default `on`, `off` turns extraction off) is such a variable: yes, no, and the upper-case forms that
 * CLOUDPORT_READ_ONLY and CLOUDPORT_HTTP accept start the server too; a value that is no boolean is
 * refused with a fix listing the accepted values.
 */
describe('CLOUDPORT_EXTRACT takes the boolean values every boolean variable takes', () => {
  for (const value of ['yes', 'no', 'ON', 'Off', 'TRUE']) {
    it(`CLOUDPORT_EXTRACT=${value} starts the server`, async () => {
      const r = await runCli(['--data-dir', tempDir()], { CLOUDPORT_EXTRACT: value, CLOUDPORT_LOG_LEVEL: 'info' }, '');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('"msg":"cloudport ready"');
    }, 30_000);
  }

  it('CLOUDPORT_EXTRACT=maybe is refused with a fix naming the accepted values', async () => {
    const r = await runCli(['--data-dir', tempDir()], { CLOUDPORT_EXTRACT: 'maybe' }, '');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CLOUDPORT_EXTRACT');
    expect(r.stderr).toMatch(/fix: .*yes/);
  }, 30_000);
});
