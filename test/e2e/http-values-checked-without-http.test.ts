import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * README "Configuration": "A bad value stops startup with an error naming the flag or variable it came
 * from". That holds for the HTTP settings too when --http is not given: `cloudport --port abc` (a user who
 * meant `--http --port …`, or a shared environment with a typo) is a startup error (exit 1, stdout empty)
 * naming the setting, rather than a stdio server that starts and silently ignores it.
 */
describe('a bad HTTP setting without --http', () => {
  for (const [args, env, name] of [
    [['--port', 'abc'], {}, '--port'],
    [['--max-sessions-per-key', '0'], {}, '--max-sessions-per-key'],
    [[], { CLOUDPORT_BODY_TIMEOUT_MS: 'soon' }, 'CLOUDPORT_BODY_TIMEOUT_MS'],
    [[], { CLOUDPORT_STATELESS: 'maybe' }, 'CLOUDPORT_STATELESS'],
  ] as [string[], Record<string, string>, string][]) {
    it(`${name} is refused at startup`, async () => {
      const r = await runCli([...args, '--data-dir', tempDir()], env, '');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(name);
    }, 30_000);
  }
});
