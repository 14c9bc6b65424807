import { CloudportError } from '../shared/errors.js';
import type { ProviderDefinition } from './types.js';
import { s3Provider } from './s3/index.js';
import { gcsProvider } from './gcs/index.js';
import { azureBlobProvider } from './azure-blob/index.js';
import { googleDriveProvider } from './google-drive/index.js';

export type { ProviderDefinition, StorageProvider, ObjectInfo, Check, ResolvedCredentials, LocationConfig } from './types.js';

/** Every provider name the connector schema accepts; each is one folder under providers/. */
export const PROVIDER_NAMES = ['s3', 'gcs', 'azure_blob', 'google_drive'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** The registered providers. Adding one is a folder under providers/ and a line here. */
const registry = new Map<string, ProviderDefinition>([s3Provider, gcsProvider, azureBlobProvider, googleDriveProvider].map((p) => [p.name, p]));

export function registeredProviders(): ProviderDefinition[] {
  return [...registry.values()];
}

export function getProvider(name: string): ProviderDefinition {
  const def = registry.get(name);
  if (!def) {
    throw new CloudportError('unsupported', `provider ${JSON.stringify(name)} is not supported yet`, {
      field: 'provider',
      fix: `Supported now: ${[...registry.keys()].join(', ')}.`,
    });
  }
  return def;
}
