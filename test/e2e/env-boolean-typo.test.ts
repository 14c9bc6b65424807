import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README "Configuration": every flag has an environment equivalent, and a bad value is a startup error
 * naming the variable. The boolean variables too: CLOUDPORT_READ_ONLY=enabled (or "y") stops the
 * process rather than starting a server that lists and runs every write and destructive tool.
 */
describe('boolean environment variables with a value that is no boolean', () => {
  for (const [name, value] of [
    ['CLOUDPORT_READ_ONLY', 'enabled'],
    ['CLOUDPORT_READ_ONLY', 'y'],
  ] as const) {
    it(`${name}=${value} is refused at startup, naming the variable`, async () => {
      const r = await runCli(['--data-dir', tempDir()], { [name]: value }, '');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(name);
    }, 30_000);
  }
});
