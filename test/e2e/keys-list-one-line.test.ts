import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cloudport.js';

/**
 * `cloudport keys list` prints "one line per key, after a header line" (README, Run it for a team), with
 * tab-separated columns. A key's --name holding a tab or a line break either is refused by
 * `keys create` (naming --name) or is written escaped, so the listing keeps one line and the same
 * columns per key, and a script reading it cannot be handed a forged line (e.g. a fake "active" key).
 */
describe('keys list with a key name holding a tab or a newline', () => {
  it('keeps one line per key with the header\'s columns, or create refuses the name', async () => {
    const dir = tempDir();
    expect((await runCli(['keys', 'create', '--org', 'acme', '--data-dir', dir])).code).toBe(0);
    const made = await runCli(['keys', 'create', '--org', 'acme', '--name', 'ci\tbot\nkey_fake\tglobex\tcpk_x…\tread-write\t2026-01-01\tactive', '--data-dir', dir]);
    const list = await runCli(['keys', 'list', '--data-dir', dir]);
    expect(list.code).toBe(0);
    const lines = list.stdout.replace(/\n$/, '').split('\n');
    const keys = made.code === 0 ? 2 : 1;
    if (made.code !== 0) expect(made.stderr).toMatch(/--name/);
    expect(lines).toHaveLength(1 + keys);
    const columns = lines[0]!.split('\t').length;
    // Every row has the header's columns, a key without a name too (an empty last one).
    for (const l of lines.slice(1)) expect(l.split('\t').length).toBe(columns);
  });
});
