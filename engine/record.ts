import { z } from 'zod';

/**
 * The CloudTrail record as Cartographer sees it.
 *
 * Only the fields the engine reads are typed; every other field is kept verbatim
 * (loose objects), because analysts always end up asking for the raw event.
 * Unknown event sources, new fields and missing optional fields are normal.
 */

const looseRecord = z.record(z.string(), z.unknown());

export const SessionIssuerSchema = z.looseObject({
  type: z.string().optional(),
  principalId: z.string().optional(),
  arn: z.string().optional(),
  accountId: z.string().optional(),
  userName: z.string().optional(),
});

export const UserIdentitySchema = z.looseObject({
  type: z.string().optional(),
  principalId: z.string().optional(),
  arn: z.string().optional(),
  accountId: z.string().optional(),
  accessKeyId: z.string().optional(),
  userName: z.string().optional(),
  invokedBy: z.string().optional(),
  identityProvider: z.string().optional(),
  sessionContext: z
    .looseObject({
      attributes: z
        .looseObject({
          mfaAuthenticated: z.string().optional(),
          creationDate: z.string().optional(),
        })
        .optional(),
      sessionIssuer: SessionIssuerSchema.optional(),
      sourceIdentity: z.string().optional(),
      ec2RoleDelivery: z.string().optional(),
    })
    .optional(),
});

export const CloudTrailRecordSchema = z.looseObject({
  eventVersion: z.string().optional(),
  eventTime: z.string().min(1),
  eventID: z.string().optional(),
  eventSource: z.string().min(1),
  eventName: z.string().min(1),
  eventType: z.string().optional(),
  eventCategory: z.string().optional(),
  awsRegion: z.string().optional(),
  sourceIPAddress: z.string().optional(),
  userAgent: z.string().optional(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  requestParameters: looseRecord.nullable().optional(),
  responseElements: looseRecord.nullable().optional(),
  additionalEventData: looseRecord.nullable().optional(),
  userIdentity: UserIdentitySchema.optional(),
  readOnly: z.boolean().optional(),
  managementEvent: z.boolean().optional(),
  recipientAccountId: z.string().optional(),
  sessionCredentialFromConsole: z.string().optional(),
  vpcEndpointId: z.string().optional(),
  resources: z.array(looseRecord).optional(),
});

export type UserIdentity = z.infer<typeof UserIdentitySchema>;
export type CloudTrailRecord = z.infer<typeof CloudTrailRecordSchema>;

/** Where a record (or a rejected piece of input) came from: file and position, for error reports. */
export interface Origin {
  /** File path, `-` for standard input, or a source name such as `lookup:us-east-1`. */
  file: string;
  /** 1-based record index inside the file, or line number for JSON Lines. */
  position?: number;
  line?: number;
}

export function formatOrigin(o: Origin): string {
  if (o.line !== undefined) return `${o.file}:${o.line}`;
  if (o.position !== undefined) return `${o.file}#${o.position}`;
  return o.file;
}

/** Input that could not be used, reported in the summary and never silently dropped. */
export interface Rejected {
  where: string;
  reason: string;
}
