/**
 * A local stand-in for AWS Organizations `ListAccounts` (AWS JSON 1.1, `X-Amz-Target:
 * AWSOrganizationsV20161128.ListAccounts`), for the account-name tests: pages of `MaxResults`
 * accounts with `NextToken`, and a fault hook to answer like AWS does when access is denied or the
 * account is not in an organization. Binds to 127.0.0.1; every request is recorded.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from './aws-endpoint.ts';

export interface OrgAccount {
  Id: string;
  Name: string;
  Status?: string;
}

export interface OrganizationsEndpoint {
  url: string;
  env: Record<string, string>;
  requests: { target: string; body: Record<string, unknown>; authorization: string }[];
  /** Answer every request with this AWS error until cleared (undefined). */
  fault: { status: number; type: string; message: string } | undefined;
  accounts: OrgAccount[];
  close(): Promise<void>;
}

export async function startOrganizationsEndpoint(accounts: OrgAccount[]): Promise<OrganizationsEndpoint> {
  const endpoint = { requests: [], fault: undefined, accounts } as unknown as OrganizationsEndpoint;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      endpoint.requests.push({ target, body, authorization: String(req.headers.authorization ?? '') });
      const send = (status: number, payload: unknown, type?: string) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          ...(type ? { 'x-amzn-errortype': type } : {}),
        });
        res.end(JSON.stringify(payload));
      };
      if (endpoint.fault) {
        const f = endpoint.fault;
        return send(f.status, { __type: f.type, Message: f.message }, f.type);
      }
      if (target !== 'AWSOrganizationsV20161128.ListAccounts') {
        return send(
          400,
          { __type: 'UnknownOperationException', Message: target },
          'UnknownOperationException',
        );
      }
      const size = Math.min(Number(body.MaxResults ?? 20), 20);
      const start = body.NextToken ? Number(String(body.NextToken).replace('page-', '')) : 0;
      const page = endpoint.accounts.slice(start, start + size).map((a) => ({
        Id: a.Id,
        Arn: `arn:aws:organizations::111111111111:account/o-example/${a.Id}`,
        Email: `${a.Name}@example.com`,
        Name: a.Name,
        Status: a.Status ?? 'ACTIVE',
        JoinedMethod: 'CREATED',
        JoinedTimestamp: 1_600_000_000,
      }));
      const next = start + size < endpoint.accounts.length ? { NextToken: `page-${start + size}` } : {};
      send(200, { Accounts: page, ...next });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  endpoint.url = url;
  endpoint.env = {
    AWS_ENDPOINT_URL_ORGANIZATIONS: url,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_REGION: 'us-east-1',
    AWS_PROFILE: '',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  endpoint.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return endpoint;
}
