/** Scheduler settings: defaults, and a bad value gets a message naming the variable and the rule. */
import { describe, expect, it } from 'vitest';
import { alertCron, digestCron, loadSchedulerConfig, SchedulerConfigError } from '../../config/scheduler.ts';

describe('scheduler settings', () => {
  it('has the documented defaults', () => {
    const c = loadSchedulerConfig({});
    expect(c).toMatchObject({
      enabled: true,
      digestHour: 8,
      digestMinute: 0,
      timeZone: 'UTC',
      alertEveryMinutes: 5,
      alertMinSeverity: 'high',
      repeatWindowMs: 24 * 3_600_000,
      latenessMs: 15 * 60_000,
      catchupMaxMs: 24 * 3_600_000,
    });
    expect(c.digestChannel).toBeUndefined();
    expect(c.alertChannel).toBeUndefined();
    expect(digestCron(c)).toBe('0 8 * * *');
  });

  it.each([
    ['CARTOGRAPHER_DIGEST_TIME', '8am', 'CARTOGRAPHER_DIGEST_TIME must be a local time HH:MM'],
    ['CARTOGRAPHER_DIGEST_TIME', '24:00', 'CARTOGRAPHER_DIGEST_TIME must be a local time HH:MM'],
    ['CARTOGRAPHER_TIMEZONE', 'Europe/Atlantis', 'CARTOGRAPHER_TIMEZONE must be an IANA time zone'],
    ['CARTOGRAPHER_ALERT_EVERY_MINUTES', '0', 'CARTOGRAPHER_ALERT_EVERY_MINUTES must be at least 1'],
    ['CARTOGRAPHER_ALERT_EVERY_MINUTES', 'often', 'CARTOGRAPHER_ALERT_EVERY_MINUTES must be a whole number'],
    ['CARTOGRAPHER_ALERT_MIN_SEVERITY', 'severe', 'CARTOGRAPHER_ALERT_MIN_SEVERITY must be one of info, low'],
    [
      'CARTOGRAPHER_ALERT_REPEAT_WINDOW_HOURS',
      '-1',
      'CARTOGRAPHER_ALERT_REPEAT_WINDOW_HOURS must be more than 0',
    ],
    [
      'CARTOGRAPHER_LATE_DELIVERY_MINUTES',
      'x',
      'CARTOGRAPHER_LATE_DELIVERY_MINUTES must be a number of minutes',
    ],
    ['CARTOGRAPHER_CATCHUP_MAX_HOURS', '1000', 'CARTOGRAPHER_CATCHUP_MAX_HOURS must be at most 336'],
    ['CARTOGRAPHER_SCHEDULE', 'yes', 'CARTOGRAPHER_SCHEDULE must be on or off'],
  ])('%s=%s is refused with a message naming it', (name, value, message) => {
    expect(() => loadSchedulerConfig({ [name]: value })).toThrow(SchedulerConfigError);
    expect(() => loadSchedulerConfig({ [name]: value })).toThrow(message);
    expect(() => loadSchedulerConfig({ [name]: value })).toThrow(`(got '${value}')`);
  });

  it("scans one scope per account and region, defaulting to the AWS sources' lists", () => {
    const c = loadSchedulerConfig({
      CARTOGRAPHER_REGIONS: 'us-east-1,eu-west-1',
      CARTOGRAPHER_ACCOUNTS: '111122223333,arn:aws:iam::444455556666:role/CartographerRead',
    });
    expect(c.regions).toEqual(['us-east-1', 'eu-west-1']);
    expect(c.accounts).toEqual(['111122223333', '444455556666']);
    expect(
      loadSchedulerConfig({ CARTOGRAPHER_REGIONS: 'us-east-1', CARTOGRAPHER_SCAN_REGIONS: 'eu-central-1' })
        .regions,
    ).toEqual(['eu-central-1']);
  });

  it('turns the alert interval into a cron pattern node-cron accepts', () => {
    expect(alertCron(1)).toBe('* * * * *');
    expect(alertCron(5)).toBe('*/5 * * * *');
    expect(alertCron(120)).toBe('0 */2 * * *');
    // 7 does not divide the hour: tick every minute, the scheduler waits until 7 minutes passed.
    expect(alertCron(7)).toBe('* * * * *');
  });
});
