import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cloudport.js';
import { connectHttp, createKey, startHttpServer, type HttpClient, type HttpServer } from '../helpers/http.js';
import { KEY_ID, SECRET } from '../helpers/s3env.js';

/**
 * A careless agent puts the secret value where an {env} reference's name goes. A name that cannot be
 * an environment variable's ([A-Za-z_][A-Za-z0-9_]*), or looks like a key, is refused with its field and
 * a fix, and never quoted back: the README promises that no result or error holds a secret.
 */
describe('a secret given as an env reference name', () => {
  let srv: HttpServer;
  let a: HttpClient;
  beforeAll(async () => {
    const dataDir = tempDir();
    const key = await createKey(dataDir, 'acme');
    srv = await startHttpServer(dataDir, ['--allow-env-refs', 'TEAM_*']);
    a = await connectHttp(srv.url, key);
  });
  afterAll(async () => {
    await a?.close();
    await srv?.stop();
  });

  it('is refused with the field and a fix, and never quoted back', async () => {
    const r = await a.call('create_connector', {
      name: 'careless',
      provider: 's3',
      bucket: 'team',
      endpoint: 'https://s3.example.com',
      credentials: { type: 'access_key', access_key_id: KEY_ID, secret_access_key: { env: SECRET } },
      validate: false,
    });
    expect(r.isError).toBe(true);
    expect(r.data.error.field).toMatch(/^credentials\.secret_access_key/);
    expect(r.data.error.fix).toBeTruthy();
    expect(r.text).not.toContain(SECRET);
    expect(JSON.stringify(r.data)).not.toContain(SECRET);
  });
});
