import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseConfig(argv, env);

describe('worker settings', () => {
  it('--workers / CLOUDPORT_WORKERS set the files worked at once; --concurrency / CLOUDPORT_CONCURRENCY still work', () => {
    expect(parse([]).concurrency).toBe(16);
    // Unset or auto: starts at 16 and adapts up to 64; a number is kept as given.
    expect(parse([]).maxConcurrency).toBe(64);
    expect(parse(['--workers', 'auto']).maxConcurrency).toBe(64);
    expect(parse([], { CLOUDPORT_WORKERS: 'AUTO' })).toMatchObject({ concurrency: 16, maxConcurrency: 64 });
    expect(parse(['--workers', '16'])).toMatchObject({ concurrency: 16, maxConcurrency: 16 });
    expect(parse(['--workers', '0'])).toMatchObject({ concurrency: 0, maxConcurrency: 0 });
    expect(() => parse(['--workers', 'many'])).toThrow(/--workers must be an integer from 0 to 256 or auto/);
    expect(parse(['--workers', 'AUTO', '--concurrency', 'auto'])).toMatchObject({ concurrency: 16, maxConcurrency: 64 });
    expect(parse(['--workers', '3']).concurrency).toBe(3);
    expect(parse(['--concurrency', '5']).concurrency).toBe(5);
    expect(parse([], { CLOUDPORT_WORKERS: '4' }).concurrency).toBe(4);
    expect(parse([], { CLOUDPORT_CONCURRENCY: '6' }).concurrency).toBe(6);
    expect(parse([], { CLOUDPORT_WORKERS: '4', CLOUDPORT_CONCURRENCY: '6' }).concurrency).toBe(4);
    expect(parse(['--concurrency', '2'], { CLOUDPORT_WORKERS: '4' }).concurrency).toBe(2);
    expect(parse(['--workers', '0']).concurrency).toBe(0);
    expect(parse(['--workers', '3', '--concurrency', '3']).concurrency).toBe(3);
    expect(() => parse(['--workers', '3', '--concurrency', '4'])).toThrow(/same setting/);
    expect(() => parse(['--workers=-1'])).toThrow(/--workers must be an integer/);
  });

  it('CLOUDPORT_HASH_THREADS: cores - 1 (1 to 4) by default, 0 for the main thread, anything else is a clear error', () => {
    expect(parse([]).hashThreads).toBeGreaterThanOrEqual(1);
    expect(parse([]).hashThreads).toBeLessThanOrEqual(4);
    expect(parse([], { CLOUDPORT_HASH_THREADS: '0' }).hashThreads).toBe(0);
    expect(parse([], { CLOUDPORT_HASH_THREADS: '3' }).hashThreads).toBe(3);
    expect(() => parse([], { CLOUDPORT_HASH_THREADS: 'many' })).toThrow(/CLOUDPORT_HASH_THREADS must be an integer from 0 to 16/);
  });

  it('--connector-concurrency defaults to every slot and is at least 1', () => {
    expect(parse(['--workers', '6']).connectorConcurrency).toBeUndefined();
    expect(parse(['--workers', '6', '--connector-concurrency', '2']).connectorConcurrency).toBe(2);
    expect(parse([], { CLOUDPORT_CONNECTOR_CONCURRENCY: '3' }).connectorConcurrency).toBe(3);
    expect(() => parse(['--connector-concurrency', '0'])).toThrow(/--connector-concurrency/);
  });

  it('--blob-store: a directory or s3://bucket/prefix with endpoint and region', () => {
    expect(parse([]).blobStore).toEqual({ kind: 'local', dir: null });
    expect(parse(['--blob-store', '/srv/blobs']).blobStore).toEqual({ kind: 'local', dir: '/srv/blobs' });
    expect(parse(['--blob-store', 's3://acme-cp/blobs/', '--blob-store-endpoint', 'http://127.0.0.1:9000']).blobStore).toEqual({
      kind: 's3',
      bucket: 'acme-cp',
      prefix: 'blobs',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
    });
    expect(parse([], { CLOUDPORT_BLOB_STORE: 's3://acme-cp', CLOUDPORT_BLOB_STORE_REGION: 'eu-west-1' }).blobStore).toEqual({ kind: 's3', bucket: 'acme-cp', prefix: '', endpoint: null, region: 'eu-west-1' });
    expect(() => parse(['--blob-store', 'gs://x/y'])).toThrow(/only local directories and s3/);
    expect(() => parse(['--blob-store', 's3://A_B'])).toThrow(/not an S3 bucket name/);
    expect(() => parse(['--blob-store', 's3://ok-bucket', '--blob-store-endpoint', 'http://k:s@127.0.0.1:9000'])).toThrow(/must not carry credentials/);
    expect(() => parse(['--blob-store-endpoint', 'http://127.0.0.1:9000'])).toThrow(/needs --blob-store/);
  });
});
