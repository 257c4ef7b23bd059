/** The real records the AWS-source tests serve from the local endpoint (see test/fixtures/aws-source/SOURCE.md). */
import { loadCloudTrailDir } from './aws-endpoint.ts';

export const fixtureRecords = loadCloudTrailDir('test/fixtures/aws-source');
/** A console session's temporary key present in the fixture files. */
export const FIXTURE_KEY = 'ASIATFQR7NSCS5BLNV76';
export const fixtureKeyRecords = fixtureRecords.filter((r) => r.userIdentity?.accessKeyId === FIXTURE_KEY);
