import { describe, expect, it } from 'vitest';
import { parseQuery, parseTimeArg, resolveSource, splitPathList } from '../../cli/source-options.ts';
import { UsageError } from '../../engine/errors.ts';

const NOW = new Date('2026-11-22T00:00:00Z');

describe('source options', () => {
  it('reads relative durations and ISO times', () => {
    expect(parseTimeArg('24h', NOW).toISOString()).toBe('2026-11-21T00:00:00.000Z');
    expect(parseTimeArg('30m', NOW).toISOString()).toBe('2026-11-21T23:30:00.000Z');
    expect(parseTimeArg('7d', NOW).toISOString()).toBe('2026-11-15T00:00:00.000Z');
    expect(parseTimeArg('2w', NOW).toISOString()).toBe('2026-11-08T00:00:00.000Z');
    expect(parseTimeArg('2023-07-10T12:27:45Z', NOW).toISOString()).toBe('2023-07-10T12:27:45.000Z');
    expect(parseTimeArg('2023-07-10', NOW).toISOString()).toBe('2023-07-10T00:00:00.000Z');
    expect(() => parseTimeArg('yesterday', NOW)).toThrow(UsageError);
    expect(() => parseTimeArg('2023-13-45T99:00Z', NOW)).toThrow(UsageError);
  });

  it('builds the SourceQuery', () => {
    expect(
      parseQuery(
        {
          'access-key': 'ASIAX',
          user: 'bert-jan',
          since: '1h',
          regions: 'us-east-1, eu-west-1',
          'max-events': '100',
        },
        NOW,
      ),
    ).toEqual({
      accessKeyId: 'ASIAX',
      user: 'bert-jan',
      since: new Date('2026-11-21T23:00:00Z'),
      regions: ['us-east-1', 'eu-west-1'],
      maxEvents: 100,
    });
    expect(() => parseQuery({ since: '1h', until: '2h' }, NOW)).toThrow(/--since is after --until/);
    expect(() => parseQuery({ 'max-events': '-3' }, NOW)).toThrow(UsageError);
  });

  it('splits CARTOGRAPHER_LOCAL_PATH on commas and the path delimiter', () => {
    expect(splitPathList('a.json, b/ :c.json.gz')).toEqual(['a.json', 'b/', 'c.json.gz']);
    expect(splitPathList(undefined)).toEqual([]);
  });

  it('rejects unknown sources and paths with an AWS source', async () => {
    await expect(resolveSource({ source: 's3' }, ['x'], {})).rejects.toThrow(/local, lookup or athena/);
    await expect(resolveSource({ source: 'lookup' }, ['x'], {})).rejects.toThrow(
      /paths are for --source local/,
    );
  });
});
