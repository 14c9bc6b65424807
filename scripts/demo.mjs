#!/usr/bin/env node
// cloudport demo: a loopback S3 server with a sample bucket, the built cloudport server over stdio,
// and an agent's walk through it with the MCP SDK Client. Leaves nothing running; temp data dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startS3 } from '../test/support/fauxqs.mjs';
import { startGcsServer } from '../test/support/gcs-server.mjs';
import { startAzurite } from '../test/support/azurite.mjs';
import { startDriveServer } from '../test/support/drive-server.mjs';
import { generateKeyPairSync } from 'node:crypto';

// Keep the demo's own output clean of the AWS SDK's Node-version notice (it is about future SDK releases).
process.removeAllListeners('warning');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');
const color = process.stdout.isTTY ? (c, s) => `\x1b[${c}m${s}\x1b[0m` : (_c, s) => s;

if (!fs.existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm install` (it builds) or `npm run build` first.');
  process.exit(1);
}

/** A valid one-page PDF showing `text` in Helvetica (the offsets of its xref table computed as it is written). */
function onePagePdf(text) {
  const stream = `BT /F1 12 Tf 72 720 Td (${text.replace(/[()\\]/g, (c) => '\\' + c)}) Tj ET`;
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = objs.map((o, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** ~50 objects in a few folders, some duplicates by content. */
function sampleObjects() {
  const objects = [];
  const pdf = (n) => onePagePdf(`Contract ${n}: the supplier delivers ${['widgets', 'gadgets', 'sprockets'][n % 3]}. Governing law: ${n % 2 ? 'Delaware' : 'New York'}.`);
  for (let i = 1; i <= 12; i++) objects.push([`contracts/2025/contract-${String(i).padStart(3, '0')}.pdf`, pdf(i), 'application/pdf']);
  // Duplicates by content: the same PDFs filed again under another folder.
  for (const i of [1, 2, 3]) objects.push([`contracts/archive/copy-of-contract-${String(i).padStart(3, '0')}.pdf`, pdf(i), 'application/pdf']);
  for (let m = 1; m <= 12; m++) {
    const csv = `month,region,revenue\n2025-${String(m).padStart(2, '0')},emea,${1000 + m * 37}\n2025-${String(m).padStart(2, '0')},amer,${2000 + m * 53}\n`;
    objects.push([`reports/2025/${String(m).padStart(2, '0')}/revenue.csv`, Buffer.from(csv), 'text/csv']);
  }
  for (let i = 1; i <= 10; i++) objects.push([`notes/meeting-${i}.md`, Buffer.from(`# Meeting ${i}\n\nDecisions: ship cloudport ${i}.0\n`), 'text/markdown']);
  objects.push(['notes/meeting-1 (copy).md', Buffer.from('# Meeting 1\n\nDecisions: ship cloudport 1.0\n'), 'text/markdown']);
  for (let i = 1; i <= 10; i++) objects.push([`images/photo-${i}.png`, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(4096, i)]), 'image/png']);
  objects.push(['images/', Buffer.alloc(0), 'application/x-directory']);
  objects.push(['README.txt', Buffer.from('Sample bucket for the cloudport demo.\n'), 'text/plain']);
  // Documents made by LibreOffice and pandoc (test/fixtures/documents/README.md): extracted and searchable.
  const fixtures = path.join(root, 'test', 'fixtures', 'documents');
  objects.push(['reports/annual-report.pdf', fs.readFileSync(path.join(fixtures, 'report.pdf')), 'application/pdf']);
  objects.push(['contracts/master-services-agreement.docx', fs.readFileSync(path.join(fixtures, 'contract.docx')), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document']);
  return objects;
}

function show(name, args, result) {
  const printable = JSON.stringify(args);
  console.log(color('36', `\n→ ${name} `) + (printable.length > 240 ? printable.slice(0, 239) + '…' : printable));
  const text = result.content.map((c) => c.text).join(' ');
  console.log((result.isError ? color('31', '← error: ') : color('32', '← ')) + text);
}

const providerArg = process.argv.indexOf('--provider');
const provider = providerArg > 0 ? process.argv[providerArg + 1] : 's3';
if (!['s3', 'gcs', 'azure_blob', 'google_drive'].includes(provider)) {
  console.error('usage: npm run demo [-- --provider s3|gcs|azure_blob|google_drive]');
  process.exit(2);
}

/** A loopback storage server for the chosen provider, with the sample bucket, and the connector fields that reach it. */
async function startStorage(objects) {
  if (provider === 'gcs') {
    const gcs = await startGcsServer();
    for (const [key, body, type] of objects) await gcs.put('demo-media', key, body, type);
    const sa = { type: 'service_account', project_id: 'demo', client_email: 'importer@demo.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\n(demo)\n-----END PRIVATE KEY-----\n' };
    return {
      label: `loopback GCS JSON API at ${gcs.endpoint}`,
      stop: () => gcs.stop(),
      fields: { provider: 'gcs', bucket: 'demo-media', endpoint: gcs.endpoint, project_id: 'demo', credentials: { type: 'service_account', json: { env: 'DEMO_GCS_KEY_JSON' } } },
      env: { DEMO_GCS_KEY_JSON: JSON.stringify(sa) },
    };
  }
  if (provider === 'google_drive') {
    // A folder "demo-media" in My Drive of the loopback Drive server, reached by a service account
    // whose key the server's token endpoint verifies; plus a Google Doc, exported as DOCX on import.
    const drive = await startDriveServer();
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'importer@demo.iam.gserviceaccount.com';
    drive.addServiceAccount({ email, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), keyId: 'demo-1' });
    const root = drive.addFolder({ name: 'demo-media' });
    const folders = new Map([['', root]]);
    const folderOf = (dir) => {
      if (folders.has(dir)) return folders.get(dir);
      const cut = dir.lastIndexOf('/');
      const id = drive.addFolder({ name: dir.slice(cut + 1), parent: folderOf(cut < 0 ? '' : dir.slice(0, cut)) });
      folders.set(dir, id);
      return id;
    };
    for (const [key, body, type] of objects) {
      if (key.endsWith('/')) continue;
      const cut = key.lastIndexOf('/');
      drive.addFile({ name: key.slice(cut + 1), parent: folderOf(cut < 0 ? '' : key.slice(0, cut)), data: body, mimeType: type });
    }
    const docx = objects.find(([k]) => k.endsWith('.docx'))[1];
    drive.addNative({ name: 'Board minutes', parent: folderOf('notes'), kind: 'document', exports: { 'application/vnd.openxmlformats-officedocument.wordprocessingml.document': docx } });
    const key = { type: 'service_account', project_id: 'demo', private_key_id: 'demo-1', private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: email, token_uri: drive.tokenUrl };
    return {
      label: `loopback Google Drive API at ${drive.url}`,
      where: 'folder demo-media',
      stop: () => drive.stop(),
      fields: { provider: 'google_drive', root_folder_id: root, endpoint: drive.url, credentials: { type: 'service_account', json: { env: 'DEMO_DRIVE_KEY_JSON' } } },
      env: { DEMO_DRIVE_KEY_JSON: JSON.stringify(key) },
    };
  }
  if (provider === 'azure_blob') {
    const az = await startAzurite();
    await az.createContainer('demo-media');
    for (const [key, body, type] of objects) if (!key.endsWith('/')) await az.put('demo-media', key, body, type);
    return {
      label: `azurite at ${az.endpoint}`,
      stop: () => az.stop(),
      fields: { provider: 'azure_blob', container: 'demo-media', endpoint: az.endpoint, credentials: { type: 'account_key', account_key: { env: 'DEMO_AZURE_KEY' } } },
      env: { DEMO_AZURE_KEY: az.accountKey },
    };
  }
  const s3 = await startS3({ buckets: ['demo-media'] });
  for (const [key, body, type] of objects) await s3.put('demo-media', key, body, { contentType: type });
  return {
    label: `loopback S3 at ${s3.endpoint}`,
    stop: () => s3.stop(),
    fields: { provider: 's3', bucket: 'demo-media', endpoint: s3.endpoint, credentials: { type: 'access_key', access_key_id: 'AKIADEMO0000EXAMPLE', secret_access_key: { env: 'DEMO_S3_SECRET' } } },
    env: { DEMO_S3_SECRET: 'demo-secret-key-never-shown' },
  };
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudport-demo-'));
let storage;
let client;
try {
  const objects = sampleObjects();
  storage = await startStorage(objects);
  console.log(color('1', `cloudport demo`) + ` — ${storage.label}, ${storage.where ?? 'bucket demo-media'} (${objects.length} objects); data dir ${dataDir}`);

  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, '--data-dir', dataDir, '--log-level', 'warn'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.homedir(),
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      // The secret is handed to the server through its environment, never through the chat.
      ...storage.env,
    },
    stderr: 'inherit',
  });
  client = new Client({ name: 'cloudport-demo', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  console.log(`connected over stdio: ${tools.length} tools (${tools.map((t) => t.name).join(', ')})`);

  const call = async (name, args) => {
    const r = await client.callTool({ name, arguments: args });
    show(name, args, r);
    if (r.isError) throw new Error(`${name} failed`);
    return r.structuredContent;
  };

  const { connector } = await call('create_connector', { name: 'demo-media', ...storage.fields, description: `Sample bucket (${provider}) on loopback` });
  await call('test_connector', { connector_id: connector.id });
  await call('browse_connector', { connector_id: connector.id, folders: true });
  await call('browse_connector', { connector_id: connector.id, pattern: 'contracts/**/*.pdf', limit: 5 });
  const job = await call('start_import', { connector_id: connector.id, index: 'demo' });
  let status;
  for (;;) {
    status = await client.callTool({ name: 'import_status', arguments: { job_id: job.job_id } });
    const st = status.structuredContent.status;
    if (['completed', 'completed_with_errors', 'failed', 'canceled'].includes(st)) break;
    await new Promise((r) => setTimeout(r, 150));
  }
  show('import_status', { job_id: job.job_id }, status);
  await call('import_status', { job_id: job.job_id, files_status: 'deduped', limit: 5 });
  const items = await call('list_index_items', { index: 'demo', limit: 5 });
  await call('read_item', { index: 'demo', key: 'reports/2025/01/revenue.csv' });
  // Search: words, a phrase and an exclusion across the PDFs, the DOCX and the notes; then read the place a hit points to.
  const found = await call('search_index', { query: '"governing law" delaware -sprockets', limit: 3 });
  await call('search_index', { query: 'indemnification OR "net 30"' });
  const hit = found.results[0];
  if (hit) await call('read_item', { index: hit.index, key: hit.key, offset: hit.offset, length: 300 });
  const again = await call('start_import', { connector_id: connector.id, index: 'demo', import_mode: 'new_only' });
  await client.callTool({ name: 'import_status', arguments: { job_id: again.job_id, wait_seconds: 10 } });

  // Export: send the index's contracts back to the bucket under exports/, then look at what was written.
  await call('update_connector', { connector_id: connector.id, scopes: ['import', 'export'], export_base_path: 'exports/' });
  const exp = await call('start_export', { index: 'demo', connector_id: connector.id, prefix: 'contracts/2025/', path_template: '{index}/{key}' });
  let exported;
  for (;;) {
    exported = await client.callTool({ name: 'import_status', arguments: { job_id: exp.job_id, wait_seconds: 10 } });
    if (['completed', 'completed_with_errors', 'failed', 'canceled'].includes(exported.structuredContent.status)) break;
  }
  show('import_status', { job_id: exp.job_id, wait_seconds: 10 }, exported);
  await call('browse_connector', { connector_id: connector.id, prefix: 'exports/', limit: 3 });

  // Automation: keep the index fed with new PDFs every 15 minutes; run it once now.
  const { automation } = await call('create_automation', { kind: 'import', connector_id: connector.id, index: 'demo', prefix: 'contracts/', pattern: '**/*.pdf', schedule: '15m', name: 'new-pdfs' });
  const run = await call('run_automation_now', { automation_id: automation.id });
  await client.callTool({ name: 'import_status', arguments: { job_id: run.job_id, wait_seconds: 10 } });
  await call('list_automations', {});
  console.log(
    `\n${color('1', 'done')}: ${status.structuredContent.counts.ready + status.structuredContent.counts.deduped} items imported (${status.structuredContent.counts.deduped} of them duplicates by content), ` +
      `${again.skipped} skipped by new_only on re-import; first item ${items.items[0]?.key}; ` +
      `${exported.structuredContent.counts.exported} exported to exports/demo/; automation ${automation.id} every 15m.`,
  );
  if (status.structuredContent.status !== 'completed' || exported.structuredContent.status !== 'completed') process.exitCode = 1;
} catch (e) {
  console.error(color('31', `demo failed: ${e.message}`));
  process.exitCode = 1;
} finally {
  await client?.close().catch(() => {});
  await storage?.stop().catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
}
