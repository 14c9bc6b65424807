import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cloudport.js';
// @ts-expect-error plain JS test support
import { startDriveServer, SCOPES } from '../support/drive-server.mjs';

/**
 * README: `cloudport auth google-drive … --out FILE` writes the refresh token to FILE. An --out path that
 * cannot be written (its folder does not exist) is refused before the consent page is shown, naming
 * --out; it never makes the user go through consent only to lose the refresh token at the end (exit 1,
 * token neither written nor printed, and a raw ENOENT text that does not name --out).
 */
async function consentViaCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; browsed: boolean }> {
  const child = spawn(process.execPath, [CLI, 'auth', 'google-drive', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  let browsed = false;
  child.stderr.on('data', async (d) => {
    stderr += d;
    const url = /(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+)/.exec(stderr)?.[1];
    if (url && !browsed) {
      browsed = true;
      const consent = await fetch(url, { redirect: 'manual' });
      const back = consent.headers.get('location');
      if (back) await (await fetch(back)).text();
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr, browsed };
}

describe('cloudport auth google-drive --out FILE in a folder that does not exist', () => {
  let drive: any;
  beforeAll(async () => {
    drive = await startDriveServer();
    drive.addRefreshToken({ clientId: 'desktop-client.apps.example', clientSecret: 'client-secret-1', refreshToken: 'unused', scopes: [SCOPES.readonly] });
  });
  afterAll(async () => drive?.stop());

  it('is refused before the consent flow, naming --out', async () => {
    const out = path.join(tempDir(), 'no-such-folder', 'drive-token');
    const before = drive.consents.length;
    const r = await consentViaCli(['--client-id', 'desktop-client.apps.example', '--client-secret', 'client-secret-1', '--out', out, '--auth-uri', drive.authUrl, '--token-uri', drive.tokenUrl]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--out');
    expect(r.browsed, 'the consent URL was shown although the token could never be saved').toBe(false);
    expect(drive.consents.length).toBe(before);
  }, 30_000);
});
