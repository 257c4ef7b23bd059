/**
 * Which regions to query.
 *
 * Decision: a configured list (`CARTOGRAPHER_REGIONS`), defaulting to the commercial regions every account has enabled
 * from the start. No region discovery call: `ec2:DescribeRegions` or `account:ListRegions` would need one more SDK
 * client and one more permission in every member account, for a list that changes a few times a year. Opt-in regions
 * (enabled per account) must be listed explicitly; if one is not enabled, that region is reported and skipped while
 * the others still answer.
 */

/** Commercial regions enabled by default in every AWS account. IAM and other global services log to us-east-1. */
export const DEFAULT_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
];

/** Regions an account must enable before use (requests there fail with an invalid-token error until then). */
export const OPT_IN_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
];

/** Shape of a region code: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-isoe-west-1` … */
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

export function isRegionName(value: string): boolean {
  return REGION_PATTERN.test(value);
}

/** True for regions that are not on by default, where an invalid-token answer means "region not enabled". */
export function isOptInRegion(region: string): boolean {
  return !DEFAULT_REGIONS.includes(region);
}

/** The ARN partition a region belongs to (for role ARNs built from an account ID). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
