// azurite 3.37.0 (Blob only) as a child process on 127.0.0.1, in memory. Node 20 works although
// its engines field says 22. Its first requests after start can answer 500: wait for a success.
//
// No child outlives its test process: stop() kills it and waits for its exit; a process that exits
// without stop() kills it in its 'exit' handler; and a test process that dies without running any
// handler (SIGKILL, a crashed worker) closes the child's stdin, which a preloaded watchdog inside
// the child takes as the signal to exit.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

export const ACCOUNT = 'devstoreaccount1';
/** The documented, public Azurite development key. */
export const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(root, 'node_modules/azurite/dist/src/blob/main.js');
/**
 * Runs inside the child before azurite: exit when the parent's end of stdin closes, and at once on
 * SIGTERM (azurite's own handler waits for idle keep-alive sockets; in memory there is nothing to save).
 */
const WATCHDOG = `data:text/javascript,${encodeURIComponent(
  'process.stdin.on("end",()=>process.exit(0)).on("error",()=>process.exit(0)).resume();process.once("SIGTERM",()=>process.exit(0));',
)}`;

const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts azurite's Blob service on a free loopback port and waits until it answers.
 * @returns {Promise<{ endpoint: string, port: number, accountName: string, accountKey: string, connectionString: string,
 *   service: BlobServiceClient, credential: StorageSharedKeyCredential,
 *   createContainer(name: string): Promise<void>, put(container: string, key: string, body: Buffer | string, contentType?: string): Promise<void>,
 *   stop(): Promise<void> }>}
 */
export async function startAzurite({ timeoutMs = 30_000 } = {}) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', WATCHDOG, MAIN, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--skipApiVersionCheck', '--loose', '--disableTelemetry', '--silent'],
    { cwd: root, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  children.add(child);
  // The test process may exit while azurite runs: neither the child nor its pipes keep it alive.
  child.unref();
  child.stdin.on('error', () => undefined);
  child.stdin.unref?.();
  child.stderr.unref?.();
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then(() => children.delete(child));

  const endpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${endpoint};`;
  const credential = new StorageSharedKeyCredential(ACCOUNT, KEY);
  const service = new BlobServiceClient(endpoint, credential, { retryOptions: { maxTries: 1 } });

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.ref(); // keep this process alive until the child is gone
      child.kill('SIGTERM');
      const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(hard);
    }
    children.delete(child);
  }

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await service.getProperties();
      break;
    } catch (e) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`azurite did not start on port ${port}: ${err.trim() || e.message}`);
      }
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
    credential,
    async createContainer(name) {
      await service.getContainerClient(name).createIfNotExists();
    },
    async put(container, key, body, contentType) {
      const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
      await service
        .getContainerClient(container)
        .getBlockBlobClient(key)
        .uploadData(data, { blobHTTPHeaders: contentType ? { blobContentType: contentType } : undefined });
    },
    stop,
  };
}
