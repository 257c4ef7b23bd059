/**
 * The bot against the real LookupEvents source and the local AWS endpoint (test/support/aws-endpoint.ts):
 * progress from real pages, and an AWS failure that ends in a thread message saying what to fix.
 */
import { describe, expect, it, vi } from 'vitest';
import { botPerTest, FIXTURE_KEY, fixtureFileRecords, waitFor } from '../support/slack-harness.ts';

const KEY = FIXTURE_KEY;
const records = fixtureFileRecords();

const bot = botPerTest();

describe('bot with the LookupEvents source', () => {
  it('shows progress as pages arrive and ends with the summary', async () => {
    const { h, aws } = await bot.startOnAws({ records });
    await h.standin.sendSlashCommand(`session ${KEY} --source lookup --since 2023-07-01`);
    await waitFor('the audit line', () =>
      h.audits().find((a) => a.outcome === 'ok' || a.outcome === 'error'),
    );
    const parent = h.standin.state.channelMessages('C0SOCTRIAGE')[0]!;
    const texts = [...parent.history.map((x) => x.text), parent.text];
    expect(texts[0]).toContain('CloudTrail LookupEvents');
    expect(
      texts.some((t) =>
        new RegExp(`^Looking up .*${KEY}.* in 2 regions: .*pages?, \\d/2 regions done`).test(t),
      ),
    ).toBe(true);
    expect(parent.text).toMatch(/[Ss]ession of bert-jan/);
    expect(aws.calls('LookupEvents').length).toBeGreaterThanOrEqual(3);
  });

  it('turns AccessDenied into a thread message naming the missing permission, and keeps serving', async () => {
    const { h } = await bot.startOnAws({
      records,
      fault: (r) =>
        r.operation === 'LookupEvents'
          ? {
              status: 400,
              code: 'AccessDeniedException',
              message:
                'User: arn:aws:iam::123:user/bot is not authorized to perform: cloudtrail:LookupEvents',
            }
          : undefined,
    });
    await h.standin.sendSlashCommand(`session ${KEY} --source lookup`);
    await waitFor('the audit line', () => h.audits().find((a) => a.outcome === 'error'));
    const parent = h.standin.state.channelMessages('C0SOCTRIAGE')[0]!;
    expect(parent.text).toMatch(/failed/);
    const [reply] = h.standin.state.thread('C0SOCTRIAGE', parent.ts);
    expect(reply?.text).toContain('cloudtrail:LookupEvents');
    expect(JSON.stringify(reply?.blocks)).toContain('What to do');
    // The bot is still up: the next command is answered.
    await h.standin.sendSlashCommand('help');
    await waitFor('help', () => h.standin.state.ephemerals.find((e) => /Cartographer commands/.test(e.text)));
  });

  it('a source that is not configured gets a thread message naming the setting', async () => {
    const { h } = await bot.startOnAws({ records });
    for (const name of [
      'CARTOGRAPHER_ATHENA_DATABASE',
      'CARTOGRAPHER_ATHENA_TABLE',
      'CARTOGRAPHER_ATHENA_OUTPUT',
    ]) {
      vi.stubEnv(name, '');
    }
    await h.standin.sendSlashCommand(`session ${KEY} --source athena`);
    await waitFor('the audit line', () => h.audits().find((a) => a.outcome === 'error'));
    const parent = h.standin.state.channelMessages('C0SOCTRIAGE')[0]!;
    const [reply] = h.standin.state.thread('C0SOCTRIAGE', parent.ts);
    expect(reply?.text).toMatch(/CARTOGRAPHER_ATHENA_/);
  });
});
