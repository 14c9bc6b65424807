import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { CloudportError, UNREACHABLE_CODES, unreachable } from '../../shared/errors.js';
import type { LocationConfig, ResolvedCredentials } from '../types.js';

/**
 * S3 credentials: static access keys, the SDK's default chain (env, shared profile, web identity,
 * container and instance roles), or an assumed role (STS AssumeRole on top of either), refreshed
 * before expiry by the SDK's identity cache (it renews credentials that expire within 5 minutes).
 */
export interface S3Identity {
  provider: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** For the auth check: who we are (assumed-role ARN), when STS can say. */
  whoAmI?: () => Promise<string>;
}

function staticKeys(c: Record<string, string | undefined>): AwsCredentialIdentity {
  return {
    accessKeyId: c.access_key_id ?? '',
    secretAccessKey: c.secret_access_key ?? '',
    ...(c.session_token ? { sessionToken: c.session_token } : {}),
  };
}

type HandlerFactory = () => NodeHttpHandler;

function stsClient(loc: LocationConfig, credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider, handler: HandlerFactory): STSClient {
  const endpoint = typeof loc.sts_endpoint === 'string' && loc.sts_endpoint ? loc.sts_endpoint : undefined;
  return new STSClient({ region: loc.region ?? 'us-east-1', credentials, maxAttempts: 3, requestHandler: handler(), ...(endpoint ? { endpoint } : {}) });
}

function assumeRoleError(e: unknown, roleArn: string, externalId: string | undefined, loc: LocationConfig): CloudportError {
  const err = e as { name?: string; message?: string; code?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } };
  // STS itself cannot be reached: a setting to check, on the field that names it when one does.
  const net = err.code ?? err.cause?.code;
  const sts = typeof loc.sts_endpoint === 'string' && loc.sts_endpoint ? loc.sts_endpoint : null;
  if ((net && UNREACHABLE_CODES.has(net)) || (err.name === 'TimeoutError' && /establishing a connection/i.test(err.message ?? ''))) {
    const e2 = unreachable(sts ?? `STS (${loc.region ?? 'us-east-1'})`, net ?? 'connect timeout', sts ? 'sts_endpoint' : 'credentials', sts ? 'Check that sts_endpoint is right and the STS server is up.' : 'Check network access to AWS STS, or give sts_endpoint.');
    return new CloudportError(e2.kind, `role assumption: ${e2.message.replace('storage endpoint', 'STS endpoint')}`, { field: e2.field, temporary: true, fix: e2.fix });
  }
  if (err.name === 'AccessDenied' || err.$metadata?.httpStatusCode === 403) {
    return new CloudportError('permission_denied', `assuming role ${roleArn} was denied`, {
      field: 'credentials.role_arn',
      fix:
        `Allow sts:AssumeRole for the base credentials in the trust policy of ${roleArn}` +
        (externalId ? ' and check that its sts:ExternalId condition matches external_id.' : '; if the policy requires sts:ExternalId, give external_id.'),
    });
  }
  if (err.name === 'ValidationError' || err.name === 'MalformedPolicyDocument') {
    return new CloudportError('config_invalid', `STS rejected the role assumption: ${err.message ?? err.name}`, {
      field: 'credentials.role_arn',
      fix: 'Check role_arn (arn:aws:iam::<account>:role/<name>) and external_id as STS quotes them above.',
    });
  }
  if (err.name === 'InvalidClientTokenId' || err.name === 'SignatureDoesNotMatch' || err.name === 'ExpiredToken' || err.name === 'UnrecognizedClientException') {
    return new CloudportError('permission_denied', `STS refused the base credentials of the role assumption: ${err.name}`, {
      field: 'credentials.base',
      fix: 'Check the base access key id and secret (and session token, if they are temporary).',
    });
  }
  if (err.name === 'CredentialsProviderError') {
    return new CloudportError('permission_denied', 'no base credentials found for role assumption (default chain is empty)', {
      field: 'credentials.base',
      fix: 'Give base access keys, or run cloudport where the default AWS credential chain finds credentials.',
    });
  }
  const status = err.$metadata?.httpStatusCode;
  const what = `role assumption failed: ${err.name ?? 'error'}${net ? ` (${net})` : ''}${err.message && err.message !== err.name ? `: ${err.message.slice(0, 200)}` : ''}`;
  // Any other refusal (4xx) is a setting to fix: an endpoint that is no STS answers "Unknown action"
  // and the like, and the setting most likely at fault is the endpoint when one is given.
  if (status !== undefined && status >= 400 && status < 500) {
    return new CloudportError('config_invalid', what, {
      field: sts ? 'sts_endpoint' : 'credentials.role_arn',
      fix: sts
        ? `Check that sts_endpoint (${sts}) is an STS service (AWS STS or one compatible with AssumeRole); leave it out to use AWS STS.`
        : 'Check role_arn, external_id and the base credentials against the STS answer quoted above.',
    });
  }
  return new CloudportError('unexpected', what, {
    field: sts ? 'sts_endpoint' : 'credentials',
    temporary: status === undefined || status >= 500,
    fix: 'STS failed to answer the role assumption; try again, and if it persists check the STS service' + (sts ? ` at ${sts}.` : '.'),
  });
}

export function s3Identity(creds: ResolvedCredentials, loc: LocationConfig, handler: HandlerFactory, hold: (...values: (string | undefined)[]) => void = () => undefined): S3Identity {
  switch (creds.type) {
    case 'access_key':
      return { provider: staticKeys(creds) };
    case 'default': {
      const chain = defaultProvider(creds.profile ? { profile: creds.profile as string } : {});
      const provider: AwsCredentialIdentityProvider = async () => {
        try {
          const id = await chain();
          hold(id.secretAccessKey, id.sessionToken);
          return id;
        } catch (e) {
          throw new CloudportError('permission_denied', `the default AWS credential chain found no credentials${creds.profile ? ` for profile ${creds.profile}` : ''}`, {
            field: 'credentials',
            fix: 'Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE where cloudport runs (or a web identity / instance role), or give access keys.',
            cause: e,
          });
        }
      };
      return { provider };
    }
    case 'assume_role': {
      const roleArn = String(creds.role_arn);
      const externalId = creds.external_id as string | undefined;
      const base = creds.base ? staticKeys(creds.base as Record<string, string>) : defaultProvider({});
      const sts = stsClient(loc, base, handler);
      const provider: AwsCredentialIdentityProvider = async () => {
        try {
          const out = await sts.send(
            new AssumeRoleCommand({
              RoleArn: roleArn,
              RoleSessionName: (creds.session_name as string | undefined) ?? 'cloudport',
              ...(externalId ? { ExternalId: externalId } : {}),
              ...(creds.duration_seconds ? { DurationSeconds: Number(creds.duration_seconds) } : {}),
            }),
          );
          const c = out.Credentials;
          if (!c?.AccessKeyId || !c.SecretAccessKey) throw new CloudportError('unexpected', 'STS answered without credentials', { temporary: true });
          hold(c.SecretAccessKey, c.SessionToken);
          return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
        } catch (e) {
          throw e instanceof CloudportError ? e : assumeRoleError(e, roleArn, externalId, loc);
        }
      };
      return {
        provider,
        whoAmI: async () => {
          const who = await stsClient(loc, provider, handler).send(new GetCallerIdentityCommand({}));
          return who.Arn ?? 'unknown identity';
        },
      };
    }
    default:
      throw new CloudportError('config_invalid', `credentials type ${JSON.stringify(creds.type)} is not supported for s3`, { field: 'credentials.type' });
  }
}
