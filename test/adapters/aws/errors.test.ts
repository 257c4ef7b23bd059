import { describe, expect, it } from 'vitest';
import { athenaQueryFailure, redact, SourceError, toSourceError } from '../../../adapters/aws/errors.ts';
import { SlidingWindowLimiter } from '../../../adapters/aws/rate-limiter.ts';

const lookup = { source: 'lookup', action: 'cloudtrail:LookupEvents' } as const;
const athena = {
  source: 'athena',
  action: 'athena:StartQueryExecution',
  table: 'security.cloudtrail_logs',
  outputLocation: 's3://results/x/',
} as const;

/** Error objects shaped like the SDK's: `name` is the AWS error code. */
function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('AWS errors an analyst can act on', () => {
  it('tells missing from expired from rejected credentials', () => {
    const missing = toSourceError(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      lookup,
    );
    expect(missing.kind).toBe('credentials-missing');
    expect(missing.hint).toMatch(/AWS_PROFILE/);
    expect(
      toSourceError(
        awsError('ExpiredTokenException', 'The security token included in the request is expired'),
        lookup,
      ).kind,
    ).toBe('credentials-expired');
    expect(
      toSourceError(
        awsError('UnrecognizedClientException', 'The security token included in the request is invalid.'),
        {
          ...lookup,
          region: 'us-east-1',
        },
      ).kind,
    ).toBe('credentials-invalid');
  });

  it('reads an invalid token in an opt-in region as "region not enabled"', () => {
    const e = toSourceError(
      awsError('UnrecognizedClientException', 'The security token included in the request is invalid.'),
      {
        ...lookup,
        region: 'me-south-1',
        account: '111122223333',
      },
    );
    expect(e.kind).toBe('region-disabled');
    expect(e.summary).toBe('Region me-south-1 is not enabled in account 111122223333.');
    expect(e.hint).toContain('CARTOGRAPHER_REGIONS');
  });

  it('names the permission AWS says is missing, even when it is not the API called', () => {
    const e = toSourceError(
      awsError(
        'AccessDeniedException',
        'User: arn:aws:sts::1:assumed-role/Soc/x is not authorized to perform: glue:GetTable on resource: arn:aws:glue:us-east-1:1:catalog',
      ),
      athena,
    );
    expect(e).toMatchObject({ kind: 'access-denied', permission: 'glue:GetTable' });
    expect(e.message).toContain('Grant glue:GetTable');
  });

  it('explains unknown tables, bucket permissions and other query failures', () => {
    expect(toSourceError(awsError('EntityNotFoundException', 'Entity Not Found'), athena).kind).toBe(
      'table-not-found',
    );
    expect(
      athenaQueryFailure("SCHEMA_NOT_FOUND: line 1:15: Schema 'security' does not exist", athena, 'q1').kind,
    ).toBe('table-not-found');
    const s3 = athenaQueryFailure(
      'Permission denied on S3 path: s3://org-trail/AWSLogs/o-1/111122223333/CloudTrail/',
      athena,
      'q1',
    );
    expect(s3).toMatchObject({ kind: 'access-denied', permission: 's3:GetObject' });
    expect(s3.hint).toContain('s3:ListBucket');
    const failed = athenaQueryFailure('GENERIC_INTERNAL_ERROR: something broke', athena, 'q1');
    expect(failed.kind).toBe('query-failed');
    expect(failed.summary).toBe('Athena query q1 failed: GENERIC_INTERNAL_ERROR: something broke');
  });

  it('points at the output-location setting when Athena has nowhere to write', () => {
    const e = toSourceError(
      awsError(
        'InvalidRequestException',
        'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
      ),
      athena,
    );
    expect(e.kind).toBe('invalid-request');
    expect(e.hint).toContain('CARTOGRAPHER_ATHENA_OUTPUT');
  });

  it('never repeats session tokens or secret keys', () => {
    const token = `IQoJb3JpZ2luX2VjE${'A'.repeat(300)}`;
    const e = toSourceError(
      awsError('SomethingOdd', `bad request X-Amz-Security-Token=${token} SecretAccessKey: abc123`),
      lookup,
    );
    expect(e.message).not.toContain(token.slice(0, 40));
    expect(e.message).not.toContain('abc123');
    expect(redact('aws_session_token=FwoGZXIvYXdzE')).toBe('aws_session_token=[REDACTED]');
  });

  it('passes a SourceError through unchanged', () => {
    const original = new SourceError('x', 'timeout', 'y');
    expect(toSourceError(original, lookup)).toBe(original);
  });
});

describe('SlidingWindowLimiter', () => {
  it('admits `limit` requests, then waits until a finished one has left the window', async () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter({ limit: 2, windowMs: 1000, marginMs: 0, now: () => now });
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    let third = false;
    const c = limiter.acquire().then((done) => {
      third = true;
      return done;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false); // both slots in flight
    now = 100;
    a();
    b();
    now = 1099;
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false); // finished at 100: the window ends at 1100
    now = 1100;
    (await c)();
    expect(third).toBe(true);
  });

  it('gives up waiting when the signal aborts', async () => {
    const limiter = new SlidingWindowLimiter({ limit: 1 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
  });
});
