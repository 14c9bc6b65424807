// A loopback stand-in for AWS STS (fauxqs has none): AssumeRole and GetCallerIdentity with the
// XML the SDK expects. Roles whose name contains "denied" refuse, and so does a role that
// requires an external id when it is missing or wrong.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { forceLoopbackListen } from './loopback.mjs';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const error = (code, message) =>
  `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>stub</RequestId></ErrorResponse>`;

/**
 * @param {{ externalIds?: Record<string, string>, lifetimeSeconds?: number }} [opts] externalIds: role ARN → required
 *   external id; lifetimeSeconds: overrides DurationSeconds (short lifetimes make clients refresh).
 */
export async function startSts({ externalIds = {}, lifetimeSeconds } = {}) {
  forceLoopbackListen();
  const calls = { AssumeRole: 0, GetCallerIdentity: 0 };
  /** temporary key id → assumed role ARN */
  const issued = new Map();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      const action = p.get('Action');
      const send = (status, xml) => {
        res.writeHead(status, { 'content-type': 'text/xml' });
        res.end(xml);
      };
      if (action === 'AssumeRole') {
        calls.AssumeRole++;
        const arn = p.get('RoleArn') ?? '';
        const required = externalIds[arn];
        if (arn.includes('denied') || (required && p.get('ExternalId') !== required)) {
          return send(403, error('AccessDenied', `User is not authorized to perform: sts:AssumeRole on resource: ${arn}`));
        }
        const key = 'ASIA' + randomBytes(8).toString('hex').toUpperCase();
        const account = arn.split(':')[4];
        const session = p.get('RoleSessionName') ?? 'session';
        issued.set(key, `arn:aws:sts::${account}:assumed-role/${arn.split('/').pop()}/${session}`);
        const exp = new Date(Date.now() + (lifetimeSeconds ?? Number(p.get('DurationSeconds') ?? 3600)) * 1000).toISOString();
        return send(
          200,
          `<AssumeRoleResponse xmlns="${NS}"><AssumeRoleResult><Credentials><AccessKeyId>${key}</AccessKeyId><SecretAccessKey>${randomBytes(20).toString('base64')}</SecretAccessKey><SessionToken>${randomBytes(32).toString('base64')}</SessionToken><Expiration>${exp}</Expiration></Credentials><AssumedRoleUser><Arn>${issued.get(key)}</Arn><AssumedRoleId>AROA:${session}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></AssumeRoleResponse>`,
        );
      }
      if (action === 'GetCallerIdentity') {
        calls.GetCallerIdentity++;
        const key = /Credential=([A-Z0-9]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const arn = issued.get(key) ?? `arn:aws:iam::123456789012:user/${key}`;
        return send(
          200,
          `<GetCallerIdentityResponse xmlns="${NS}"><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>${key}</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
      }
      send(400, error('InvalidAction', `unsupported action ${action}`));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
