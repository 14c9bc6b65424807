// azurite 3.37.0 (Blob only) as a child process on 127.0.0.1, in memory. Node 20 works although
// its engines field says 22. Its first requests after start can answer 500: wait for a success.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

export const ACCOUNT = 'devstoreaccount1';
export const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startAzurite() {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(root, 'node_modules/azurite/dist/src/blob/main.js'), '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--skipApiVersionCheck', '--loose', '--disableTelemetry', '--silent'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const endpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${endpoint};`;
  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(ACCOUNT, KEY), { retryOptions: { maxTries: 1 } });
  for (let i = 0; ; i++) {
    try {
      await service.getProperties();
      break;
    } catch (e) {
      if (child.exitCode !== null || i > 200) throw new Error(`azurite did not start: ${err || e.message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    endpoint,
    port,
    accountName: ACCOUNT,
    accountKey: KEY,
    connectionString,
    service,
    credential: new StorageSharedKeyCredential(ACCOUNT, KEY),
    async createContainer(name) {
      await service.getContainerClient(name).createIfNotExists();
    },
    async put(container, key, body, contentType) {
      const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
      await service.getContainerClient(container).getBlockBlobClient(key).uploadData(data, { blobHTTPHeaders: contentType ? { blobContentType: contentType } : undefined });
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}
