/**
 * AWS SDK calls as an operator sees them: a debug log line per call (service, operation, duration, attempts, the
 * AWS request id, outcome) written for the request that made it (request-context.ts: its `reqId` comes along), and
 * `cartographer_aws_requests_total`. Every AWS client Cartographer creates goes through instrumentAwsClient().
 */
import { metrics } from './metrics.ts';
import { currentRequest } from './request-context.ts';

interface CallOutput {
  output: { $metadata?: { requestId?: string; attempts?: number; httpStatusCode?: number } };
}
type Handler = (args: { input: object }) => Promise<CallOutput>;
interface CallContext {
  clientName?: string;
  commandName?: string;
}

/** The part of an SDK v3 client this needs (every `…Client` of `@aws-sdk/client-*` has it). */
export interface InstrumentableClient {
  middlewareStack: { add(middleware: never, options: { step: 'initialize'; name: string }): void };
}

const NAME = 'cartographerTelemetry';

/** Adds the telemetry middleware (around the SDK's retries: one line per call, not per attempt). */
export function instrumentAwsClient<C extends InstrumentableClient>(client: C): C {
  const middleware = (next: Handler, context: CallContext): Handler => {
    const service = (context.clientName ?? 'aws').replace(/Client$/, '').toLowerCase();
    const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
    return async (args) => {
      const started = performance.now();
      try {
        const result = await next(args);
        record(service, operation, started, 'ok', result.output.$metadata);
        return result;
      } catch (err) {
        const e = err as { name?: string; $metadata?: CallOutput['output']['$metadata'] };
        record(service, operation, started, e?.name ?? 'Error', e?.$metadata);
        throw err;
      }
    };
  };
  client.middlewareStack.add(middleware as never, { step: 'initialize', name: NAME });
  return client;
}

function record(
  service: string,
  operation: string,
  started: number,
  outcome: string,
  meta: CallOutput['output']['$metadata'] | undefined,
): void {
  metrics.awsRequests.inc({ service, operation, outcome });
  currentRequest()?.logger?.debug(
    {
      aws: {
        service,
        operation,
        outcome,
        ms: Math.round(performance.now() - started),
        ...(meta?.attempts !== undefined ? { attempts: meta.attempts } : {}),
        ...(meta?.httpStatusCode !== undefined ? { status: meta.httpStatusCode } : {}),
        ...(meta?.requestId ? { awsRequestId: meta.requestId } : {}),
      },
    },
    `aws ${service} ${operation}: ${outcome}`,
  );
}
