/**
 * Starts the real Bolt app on 127.0.0.1 (random port) against the local Slack stand-in, with a
 * temporary SQLite file and a log sink the tests can read (audit lines).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, vi } from 'vitest';
import type { Bot } from '../../bot/app.ts';
import { createLogger } from '../../bot/audit.ts';
import { createPipelineAnalyzer, type SourceProvider } from '../../bot/lookup/analyzer.ts';
import { composeBot } from '../../compose/bot.ts';
import { createSourceProvider } from '../../compose/source-provider.ts';
import { loadBotConfig } from '../../config/bot.ts';
import { loadConfig } from '../../config/config.ts';
import { loadSchedulerSettings } from '../../config/settings.ts';
import { loadStageSettings } from '../../config/stage-settings.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { type SlackStandin, startSlackStandin } from '../../playground/standin/server.ts';
import { slackSignature } from '../../playground/standin/signing.ts';
import { type AwsEndpoint, type AwsEndpointOptions, startAwsEndpoint } from './aws-endpoint.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-test-0000-bot-token-never-logged';
export const FIXTURE_DIR = 'test/fixtures/invictus-sigma-aws-cloudtrail';
/** The Invictus access key the bot tests look up, and the fixture file that holds its session (among others). */
export const FIXTURE_KEY = 'AKIATFQR7NSC8Q4X20BJ';
export const FIXTURE_FILE = join(
  FIXTURE_DIR,
  '218007301253_CloudTrail_us-east-1_20230710T1215Z_Z8x5aqgtcXn5NEG9.json',
);
export const fixtureFileRecords = (): CloudTrailRecord[] =>
  (JSON.parse(readFileSync(FIXTURE_FILE, 'utf8')) as { Records: CloudTrailRecord[] }).Records;

/** The form body Slack POSTs for `/cartographer <text>` from the test analyst in the test channel. */
export function slashCommandBody(h: Harness, text: string, triggerId: string): string {
  return new URLSearchParams({
    command: '/cartographer',
    text,
    user_id: 'U0ANALYST1',
    channel_id: 'C0SOCTRIAGE',
    team_id: 'T0CARTOGR',
    response_url: `${h.standin.url}/response/none`,
    trigger_id: triggerId,
  }).toString();
}

export interface Harness {
  standin: SlackStandin;
  bot: Bot;
  port: number;
  dir: string;
  /** Every log line (JSON) the bot wrote. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  audits(): Record<string, unknown>[];
  /** Stops the bot only (the stand-in and DB file stay, for restart tests). */
  stopBot(): Promise<void>;
  /** Starts a fresh bot process-equivalent on the same DB file and stand-in. */
  restartBot(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  sources?: SourceProvider;
  /** Replace the analysis stages (called lazily, on the first lookup, and again after an allow-list change). */
  stages?: (dir: string) => Promise<PipelineStages>;
  /** Log level of the bot's logger (default info). */
  logLevel?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cartographer-bot-'));
  const standin = await startSlackStandin({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN });
  const rawLogs: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        rawLogs.push(line);
        logs.push(JSON.parse(line));
      }
      done();
    },
  });
  const env = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: standin.apiUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    CARTOGRAPHER_DB: join(dir, 'bot.db'),
    CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
    CARTOGRAPHER_LOCAL_PATH: FIXTURE_DIR,
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const make = async () => {
    const config = loadBotConfig(env);
    const stages = options.stages;
    // The bot's settings from the harness's environment; the scheduler's and the sources' from the process's
    // (tests stub AWS endpoints there).
    const settings = {
      bot: config,
      scheduler: loadSchedulerSettings(process.env),
      sources: () => loadConfig(process.env),
      stages: () => loadStageSettings(process.env),
    };
    const sources = options.sources ?? createSourceProvider(config.localPaths, settings.sources);
    const bot = composeBot(settings, {
      logger: createLogger(options.logLevel ?? 'info', sink),
      sources,
      ...(stages ? { analyzer: createPipelineAnalyzer({ sources, stages: () => stages(dir) }) } : {}),
    });
    try {
      const { port } = await bot.start();
      standin.setBotUrl(`http://127.0.0.1:${port}/slack/events`);
      return { bot, port: port ?? 0 };
    } catch (err) {
      await bot.stop();
      throw err;
    }
  };
  let current: Awaited<ReturnType<typeof make>>;
  try {
    current = await make();
  } catch (err) {
    await standin.close();
    throw err;
  }
  const harness: Harness = {
    standin,
    get bot() {
      return current.bot;
    },
    get port() {
      return current.port;
    },
    dir,
    logs,
    rawLogs,
    audits: () => logs.filter((l) => l.audit === true),
    stopBot: () => current.bot.stop(),
    async restartBot() {
      current = await make();
    },
    async close() {
      await current.bot.stop();
      await standin.close();
    },
  };
  return harness;
}

export const FORM = 'application/x-www-form-urlencoded';

export interface SignOptions {
  contentType?: string;
  secret?: string;
  /** The request's timestamp, in seconds. */
  at?: number;
  extra?: Record<string, string>;
}

/** Headers Slack signs a request with: by default now, with the harness's signing secret, as a form. */
export function signedHeaders(
  body: string,
  {
    contentType = FORM,
    secret = SIGNING_SECRET,
    at = Math.floor(Date.now() / 1000),
    extra = {},
  }: SignOptions = {},
): Record<string, string> {
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': slackSignature(secret, at, body),
    ...extra,
  };
}

/**
 * One bot per test, for a file or describe block: start it in a test; after each test the bot, the local AWS
 * endpoint it was started on, if any, and the stubbed environment are closed.
 */
export function botPerTest(): {
  start(options?: HarnessOptions): Promise<Harness>;
  /** The bot on the LookupEvents source of a local AWS endpoint in two regions, built from the environment. */
  startOnAws(aws: AwsEndpointOptions, options?: HarnessOptions): Promise<{ h: Harness; aws: AwsEndpoint }>;
} {
  let h: Harness | undefined;
  let aws: AwsEndpoint | undefined;
  afterEach(async () => {
    await h?.close();
    await aws?.close();
    vi.unstubAllEnvs();
    h = undefined;
    aws = undefined;
  });
  const start = async (options?: HarnessOptions) => {
    h = await startHarness(options);
    return h;
  };
  return {
    start,
    async startOnAws(awsOptions, options) {
      const endpoint = await startAwsEndpoint(awsOptions);
      aws = endpoint;
      for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
      // The production path: config/config.ts + compose/sources.ts build the source from the environment.
      vi.stubEnv('CARTOGRAPHER_REGIONS', 'us-east-1,eu-west-1');
      return { h: await start(options), aws: endpoint };
    },
  };
}

/** Polls until `check` returns a value (not undefined/false); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
