import { z } from 'zod';

/**
 * Schema pieces providers use to declare their connector fields and credential types. The tool
 * schemas are assembled from every registered provider, so adding a provider touches only providers/.
 */
export const secretValue = z
  .union([z.string().min(1), z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()])
  .meta({ id: 'secret' });

/** Location fields shared by the object stores; a provider may add its own (e.g. container, project_id). */
export const commonLocationFields = {
  bucket: z.string().min(1).max(255).describe('Bucket name (s3, gcs).'),
  region: z.string().max(40).optional().describe('s3 region; default us-east-1.'),
  endpoint: z.string().max(2048).optional().describe('Custom/S3-compatible server URL (path-style for s3).'),
};
