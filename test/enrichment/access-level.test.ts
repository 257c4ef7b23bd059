/** The IAM access-level index the build snapshots (enrichment/access-level.ts, dist/iam-actions-snapshot.json). */
import { describe, expect, it } from 'vitest';
import {
  buildIamActionIndex,
  iamActionIndexFromSnapshot,
  iamActionIndexSnapshot,
} from '../../enrichment/access-level.ts';

describe('IAM access-level snapshot', () => {
  it('holds the index built from the package, and only for the version it was made from', async () => {
    const built = await buildIamActionIndex();
    const text = await iamActionIndexSnapshot();
    const restored = iamActionIndexFromSnapshot(text, built.version)!;
    expect(restored.version).toBe(built.version);
    expect(restored.services).toEqual(built.services);
    expect(new Map([...restored.actions].sort())).toEqual(new Map([...built.actions].sort()));
    expect(restored.actions.get('s3:listbucket')).toEqual({ action: 's3:ListBucket', accessLevel: 'List' });
    expect(iamActionIndexFromSnapshot(text, `${built.version}-other`)).toBeUndefined();
  });
});
