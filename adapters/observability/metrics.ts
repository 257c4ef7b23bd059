/**
 * Every Prometheus metric Cartographer exports, in one registry that `/metrics` serves (bot/health.ts). Import
 * `metrics` and update the one you need; add a new metric here, named `cartographer_…`, so the list stays in one
 * place. Labels take only values from small fixed sets (command names, sources, Slack error codes), never ids.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
// Process facts (CPU, resident memory, heap, event-loop lag, open handles) under their standard names.
collectDefaultMetrics({ register: registry });

const registers = [registry];

export const metrics = {
  commands: new Counter({
    name: 'cartographer_commands_total',
    help: 'Slash commands and button clicks handled, by command and outcome (ok, bad-args, denied, error, …)',
    labelNames: ['command', 'outcome'] as const,
    registers,
  }),
  scanDuration: new Histogram({
    name: 'cartographer_scan_duration_seconds',
    help: 'Duration of scans: scheduled jobs (job=alert scan|daily digest), source reads (job=read:<source>) and grouped reads (job=scan|session-events|baseline:<source>)',
    labelNames: ['job', 'outcome'] as const,
    buckets: [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers,
  }),
  eventsScanned: new Counter({
    name: 'cartographer_events_scanned_total',
    help: 'CloudTrail records read from a source, by source',
    labelNames: ['source'] as const,
    registers,
  }),
  athenaBytesScanned: new Counter({
    name: 'cartographer_athena_bytes_scanned_total',
    help: 'Bytes Athena reported scanned for Cartographer queries (what Athena bills)',
    registers,
  }),
  awsRequests: new Counter({
    name: 'cartographer_aws_requests_total',
    help: 'AWS API calls (after the SDK retries), by service, operation and outcome (ok or the error name)',
    labelNames: ['service', 'operation', 'outcome'] as const,
    registers,
  }),
  slackApiCalls: new Counter({
    name: 'cartographer_slack_api_calls_total',
    help: 'Slack Web API calls, by method',
    labelNames: ['method'] as const,
    registers,
  }),
  slackApiErrors: new Counter({
    name: 'cartographer_slack_api_errors_total',
    help: 'Slack Web API calls that failed, by method and Slack error code (or http_<status>, network)',
    labelNames: ['method', 'code'] as const,
    registers,
  }),
  queueDepth: new Gauge({
    name: 'cartographer_sqs_queue_depth',
    help: 'Messages in the SQS notification queue, where alerts come from SQS: state=visible (waiting) or in_flight',
    labelNames: ['queue', 'state'] as const,
    registers,
  }),
  healthCheck: new Gauge({
    name: 'cartographer_health_check',
    help: 'Result of each health check at the last /healthz or /readyz: 1 passing, 0 failing',
    labelNames: ['check'] as const,
    registers,
  }),
};
