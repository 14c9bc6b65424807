import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README "Configuration": each setting is a flag or its environment variable, and a bad value given only
 * in the environment is refused naming that variable (CLOUDPORT_LOG_LEVEL, CLOUDPORT_PORT,
 * CLOUDPORT_TOOLSETS, CLOUDPORT_DATABASE_URL), not a flag the operator never typed.
 */
describe('a bad value set only through the environment', () => {
  for (const [name, value] of [
    ['CLOUDPORT_LOG_LEVEL', 'loud'],
    ['CLOUDPORT_TOOLSETS', 'nope'],
    ['CLOUDPORT_DATABASE_URL', 'mysql://db/x'],
  ] as const) {
    it(`${name}=${value}: the error names ${name}`, async () => {
      const r = await runCli(['--data-dir', tempDir()], { [name]: value }, '');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(name);
    }, 30_000);
  }
});
