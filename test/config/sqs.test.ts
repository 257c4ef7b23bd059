/**
 * The SQS alert source's settings: CARTOGRAPHER_SQS_* in the zod configuration, CARTOGRAPHER_ALERT_SOURCE in the
 * scheduler's, CARTOGRAPHER_DATABASE_URL in the bot's; a wrong value names the variable to fix.
 */
import { describe, expect, it } from 'vitest';
import { parseNotification, skipReason } from '../../adapters/aws/sqs-notification.ts';
import { regionOfQueueUrl } from '../../adapters/aws/sqs-queue.ts';
import { BotConfigError, loadBotConfig } from '../../config/bot.ts';
import { ConfigError, loadConfig, requireSqsSettings } from '../../config/config.ts';
import { loadSchedulerConfig } from '../../config/scheduler.ts';

const URL = 'https://sqs.eu-west-1.amazonaws.com/111122223333/cartographer-alerts';

describe('SQS settings', () => {
  it('reads CARTOGRAPHER_SQS_* with defaults, and names the variable of a bad value', () => {
    const c = loadConfig({ CARTOGRAPHER_SQS_QUEUE_URL: URL, CARTOGRAPHER_SQS_CONCURRENCY: '8' });
    expect(c.sqs).toEqual({
      queueUrl: URL,
      batchSize: 10,
      concurrency: 8,
      maxReceives: 5,
      visibilitySeconds: 60,
      waitSeconds: 20,
    });
    expect(regionOfQueueUrl(URL)).toBe('eu-west-1');
    expect(() => loadConfig({ CARTOGRAPHER_SQS_BATCH_SIZE: '11' })).toThrow(
      /CARTOGRAPHER_SQS_BATCH_SIZE \(11\): must be at most 10/,
    );
    expect(() => loadConfig({ CARTOGRAPHER_SQS_WAIT_SECONDS: '30' })).toThrow(
      /CARTOGRAPHER_SQS_WAIT_SECONDS/,
    );
    expect(() => loadConfig({ CARTOGRAPHER_SQS_QUEUE_URL: 'not a url' })).toThrow(
      /CARTOGRAPHER_SQS_QUEUE_URL/,
    );
    expect(() => requireSqsSettings(loadConfig({}))).toThrow(ConfigError);
  });

  it('CARTOGRAPHER_ALERT_SOURCE is scan or sqs; CARTOGRAPHER_DATABASE_URL must be a PostgreSQL URL', () => {
    expect(loadSchedulerConfig({}).alertSource).toBe('scan');
    expect(loadSchedulerConfig({ CARTOGRAPHER_ALERT_SOURCE: 'sqs' }).alertSource).toBe('sqs');
    expect(() => loadSchedulerConfig({ CARTOGRAPHER_ALERT_SOURCE: 'kafka' })).toThrow(
      /CARTOGRAPHER_ALERT_SOURCE must be scan/,
    );
    const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
    expect(
      loadBotConfig({ ...base, CARTOGRAPHER_DATABASE_URL: 'postgres://u:pw@db:5432/c' }).databaseUrl,
    ).toBe('postgres://u:pw@db:5432/c');
    expect(loadBotConfig(base).databaseUrl).toBeUndefined();
    const bad = () => loadBotConfig({ ...base, CARTOGRAPHER_DATABASE_URL: 'mysql://u:secret@db/c' });
    expect(bad).toThrow(BotConfigError);
    expect(bad).toThrow(/CARTOGRAPHER_DATABASE_URL must be a PostgreSQL URL/);
    expect(bad).not.toThrow(/secret/);
  });
});

describe('S3 notifications', () => {
  it('decodes keys, ignores test events and deletions, and refuses what is not a notification', () => {
    const s3 = JSON.stringify({
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: 'b' }, object: { key: 'AWSLogs/a+b%3Ac.json.gz', size: 3 } },
        },
      ],
    });
    expect(parseNotification(s3)).toEqual({
      kind: 'objects',
      envelope: 's3',
      objects: [{ bucket: 'b', key: 'AWSLogs/a b:c.json.gz', size: 3 }],
    });
    expect(parseNotification(JSON.stringify({ Type: 'Notification', Message: s3 }))).toMatchObject({
      envelope: 'sns',
    });
    expect(
      parseNotification(
        JSON.stringify({
          Records: [
            { eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key: 'k' } } },
          ],
        }),
      ),
    ).toEqual({
      kind: 'ignore',
      reason: 'S3 events other than ObjectCreated',
    });
    expect(parseNotification(JSON.stringify({ Type: 'SubscriptionConfirmation' }))).toMatchObject({
      kind: 'ignore',
    });
    expect(parseNotification('{not json')).toMatchObject({ kind: 'invalid' });
    expect(parseNotification(JSON.stringify({ hello: 'world' }))).toMatchObject({ kind: 'invalid' });
    expect(
      skipReason('AWSLogs/1/CloudTrail/us-east-1/2023/07/10/1_CloudTrail_us-east-1_20230710T1200Z_x.json.gz'),
    ).toBeUndefined();
    expect(skipReason('AWSLogs/1/CloudTrail/us-east-1/2023/07/10/ConfigWritabilityCheckFile')).toBe(
      'not a .json or .json.gz log file',
    );
    expect(skipReason('AWSLogs/1/Config/us-east-1/x.json.gz')).toBe('not under a CloudTrail/ log prefix');
  });
});
