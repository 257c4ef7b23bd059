/**
 * The shapes of the signal rule files (rules/signals/**), validated with zod at load.
 * FORMAT.md is the human contract; this file is the machine one. Objects are strict so a
 * misspelt key is reported (with its file and line) instead of being silently ignored.
 */
import { z } from 'zod';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);
const eventName = z
  .string()
  .regex(/^([a-z0-9-]+:[A-Za-z0-9_]+|\*)$/, 'expected "<source prefix>:<EventName>" or "*"');
const signalId = z.string().regex(/^[A-Za-z0-9_]+$/, 'signal ids are letters, digits and _');

/** Tests on a JSON object (requestParameters or responseElements). */
export const ObjectTestSchema = z.strictObject({
  keys: z.array(z.string()).optional(),
  keysIn: z.array(z.array(z.string())).min(1).optional(),
  hasKeys: z.array(z.string()).optional(),
  emptyKeys: z.array(z.string()).optional(),
  equals: z.record(z.string(), scalar).optional(),
  /** Like equals, with `{{region}}` replaced by the event's awsRegion (e.g. S3's regional Host header). */
  equalsTemplate: z.record(z.string(), z.string()).optional(),
  notEquals: z.record(z.string(), scalar).optional(),
  in: z.record(z.string(), z.array(scalar).min(1)).optional(),
  startsWith: z.record(z.string(), z.string()).optional(),
  endsWith: z.record(z.string(), z.string()).optional(),
  matches: z.record(z.string(), z.string()).optional(),
  exists: z.array(z.string()).optional(),
  absent: z.array(z.string()).optional(),
  contains: z.array(z.string()).optional(),
  notContains: z.array(z.string()).optional(),
  json: z.string().optional(),
  count: z.record(z.string(), z.number().int().min(0)).optional(),
  /** The values at an array path, sorted and joined with ',', equal this text (`open,upcoming`). */
  sortedJoin: z.record(z.string(), z.string()).optional(),
});
export type ObjectTest = z.infer<typeof ObjectTestSchema>;

export interface When {
  userAgent?: string | string[];
  notUserAgent?: string | string[];
  params?: ObjectTest;
  response?: ObjectTest;
  errorCode?: string | null | (string | null)[];
  errorMessage?: { equals?: string; startsWith?: string; contains?: string };
  region?: string | string[];
  any?: When[];
  not?: When;
}
export const WhenSchema: z.ZodType<When> = z.lazy(() =>
  z.strictObject({
    userAgent: oneOrMany(z.string()).optional(),
    notUserAgent: oneOrMany(z.string()).optional(),
    params: ObjectTestSchema.optional(),
    response: ObjectTestSchema.optional(),
    errorCode: z.union([z.string(), z.null(), z.array(z.union([z.string(), z.null()])).min(1)]).optional(),
    errorMessage: z
      .strictObject({
        equals: z.string().optional(),
        startsWith: z.string().optional(),
        contains: z.string().optional(),
      })
      .optional(),
    region: oneOrMany(z.string()).optional(),
    any: z.array(WhenSchema).min(1).optional(),
    not: WhenSchema.optional(),
  }),
);

export const LabelCaseSchema = z.strictObject({
  when: WhenSchema.optional(),
  labels: z.array(signalId).min(1),
  continue: z.boolean().optional(),
  note: z.string().optional(),
});
export type LabelCase = z.infer<typeof LabelCaseSchema>;

export const LabelFileSchema = z.strictObject({
  events: z.record(eventName, z.array(LabelCaseSchema)),
});
export type LabelFile = z.infer<typeof LabelFileSchema>;

const eventList = z.union([z.literal('*'), z.array(eventName).min(1)]);

export const SignalDefSchema = z.strictObject({
  id: signalId,
  name: z.string().min(1),
  summary: z.string().optional(),
  url: z.string().optional(),
  anchor: eventList,
  required: eventList,
  optional: z.array(eventName).optional(),
  lookback: z.number().min(0).max(3600).optional(),
  lookahead: z.number().min(0).max(3600).optional(),
  suppressed: z.boolean().optional(),
  aliasOf: signalId.optional(),
  eachEvent: z.boolean().optional(),
  service: z.string().optional(),
  note: z.string().optional(),
});
export type SignalDef = z.infer<typeof SignalDefSchema>;

export const DefFileSchema = z.strictObject({
  service: z.string().min(1),
  signals: z.array(SignalDefSchema),
});
export type DefFile = z.infer<typeof DefFileSchema>;

/**
 * Console pages beyond Cloud Console Cartographer's recordings (rules/signals/pages/*.yaml): one entry per
 * page or console action, written from the calls that page makes. They name the console events the
 * label/def rules leave over, before the page-level fallback.
 */
export const PageDefSchema = z.strictObject({
  id: signalId,
  name: z.string().min(1),
  summary: z.string().optional(),
  url: z.string().optional(),
  /** Calls that show the page was opened (any one starts it). */
  anchor: z.array(eventName).min(1),
  /** Calls that must all be in the window (default: none beyond the anchor). */
  required: z.array(eventName).optional(),
  /** Every other call the page makes; the anchor and required calls are members anyway. */
  calls: z.array(eventName).default([]),
  /** Conditions a call must meet to count for this page (label `when` syntax), per call. */
  match: z.record(eventName, WhenSchema).optional(),
  lookback: z.number().min(0).max(600).optional(),
  lookahead: z.number().min(0).max(600).optional(),
  suppressed: z.boolean().optional(),
  note: z.string().optional(),
  /**
   * Events that must make this page (checked by test/engine/signals/pages.test.ts); needed when every anchor or
   * a required call has a `match` condition, else the test builds them from the anchor and required calls.
   */
  example: z
    .array(
      z.strictObject({
        event: eventName,
        params: z.record(z.string(), z.unknown()).nullable().optional(),
        userAgent: z.string().optional(),
      }),
    )
    .min(1)
    .optional(),
});
export type PageDef = z.infer<typeof PageDefSchema>;

export const PageFileSchema = z.strictObject({
  service: z.string().min(1),
  /** Where the call sets come from: recordings, AWS documentation, public data sets. Required. */
  sources: z.array(z.string().min(1)).min(1),
  pages: z.array(PageDefSchema),
});
export type PageFile = z.infer<typeof PageFileSchema>;

/** Tests on one signal (the previous or the current one) in follow-up rules. */
export interface SignalTest {
  id?: string;
  idIn?: string[];
  idStartsWith?: string;
  idEndsWith?: string;
  not?: SignalTest;
  /** Previous only: how many signals back (1 = the last one). */
  back?: number;
  /** Previous only: at most this many seconds between its last event and the current signal's first. */
  withinSeconds?: number;
  /** The signal has at most / at least this many member events. */
  maxEvents?: number;
  minEvents?: number;
  /** Every member event has one of these names. */
  onlyEvents?: string[];
  /** Some member event satisfies these requestParameters tests. */
  anyEventParams?: ObjectTest;
  /** The signal's anchor event has this name / these requestParameters. */
  anchorEvent?: string;
  anchorParams?: ObjectTest;
}
export const SignalTestSchema: z.ZodType<SignalTest> = z.lazy(() =>
  z.strictObject({
    id: signalId.optional(),
    idIn: z.array(signalId).min(1).optional(),
    idStartsWith: z.string().optional(),
    idEndsWith: z.string().optional(),
    not: SignalTestSchema.optional(),
    back: z.number().int().min(1).max(10).optional(),
    withinSeconds: z.number().min(0).optional(),
    maxEvents: z.number().int().min(0).optional(),
    minEvents: z.number().int().min(0).optional(),
    onlyEvents: z.array(eventName).min(1).optional(),
    anyEventParams: ObjectTestSchema.optional(),
    anchorEvent: eventName.optional(),
    anchorParams: ObjectTestSchema.optional(),
  }),
);

export const DistinctTestSchema = z.strictObject({
  event: eventName,
  path: z.string().min(1),
  startsWith: z.string().optional(),
  moreThan: z.number().int().min(0),
});

/** Looks back over recent signals: true when one matching `find` comes before one matching `stopAt`. */
export const RecentTestSchema = z.strictObject({
  find: SignalTestSchema,
  stopAt: SignalTestSchema.optional(),
  /** Signals older than this many seconds end the search … */
  withinSeconds: z.number().min(0),
  /** … except the last `always` signals, which are looked at whatever their age. */
  always: z.number().int().min(0).default(0),
});

export interface FollowupCondition {
  previous?: SignalTest;
  current?: SignalTest;
  distinct?: z.infer<typeof DistinctTestSchema>;
  recent?: z.infer<typeof RecentTestSchema>;
  any?: FollowupCondition[];
}
export const FollowupConditionSchema: z.ZodType<FollowupCondition> = z.lazy(() =>
  z.strictObject({
    previous: SignalTestSchema.optional(),
    current: SignalTestSchema.optional(),
    distinct: DistinctTestSchema.optional(),
    recent: RecentTestSchema.optional(),
    any: z.array(FollowupConditionSchema).min(1).optional(),
  }),
);

const fromTo = z.strictObject({ from: signalId, to: signalId });

export const FollowupSchema = z.union([
  z.strictObject({ rename: fromTo, when: FollowupConditionSchema.optional(), note: z.string().optional() }),
  z.strictObject({ drop: signalId, when: FollowupConditionSchema.optional(), note: z.string().optional() }),
  z.strictObject({ renamePrevious: fromTo, when: FollowupConditionSchema, note: z.string().optional() }),
  z.strictObject({
    merge: z.strictObject({
      /** Absent: any signal (constrain it with `when.previous`). */
      first: oneOrMany(signalId).optional(),
      second: oneOrMany(signalId),
      withinSeconds: z.number().min(0),
      /** Which signal keeps its id: `second` (default, Cartographer's Merge-Signal anchor) or `first`. */
      into: z.enum(['first', 'second']).optional(),
      /** Also merge when one signal with the second's id sits between them (`first`, second, second). */
      skipOne: z.boolean().optional(),
      skipWithinSeconds: z.number().min(0).optional(),
    }),
    when: FollowupConditionSchema.optional(),
    note: z.string().optional(),
  }),
]);
export type Followup = z.infer<typeof FollowupSchema>;

export const FollowupFileSchema = z.strictObject({
  /** Signals never seen as "previous" (automated background noise). */
  previousSkips: z.array(signalId).default([]),
  followups: z.array(FollowupSchema),
});
export type FollowupFile = z.infer<typeof FollowupFileSchema>;

/** Page-level answers and programmatic collapse (rules/signals/fallback.yaml). */
export const FallbackFileSchema = z.strictObject({
  /** Console events no definition explains: one signal per service page visit. */
  pages: z.strictObject({
    /** Families counted as console traffic. */
    userAgents: z.array(z.string()).min(1),
    /** Consecutive unexplained events of one service at most this far apart form one visit. */
    gapSeconds: z.number().min(0),
    services: z.record(
      z.string(),
      z.strictObject({
        name: z.string().min(1),
        url: z.string().optional(),
        service: z.string().optional(),
        /** Console polling rather than a page the user opened (shown only on request). */
        suppressed: z.boolean().optional(),
      }),
    ),
    /** For event sources not listed: `name` with {{service}} filled from the source prefix. */
    default: z.strictObject({ name: z.string().min(1), url: z.string().optional() }),
  }),
  /**
   * Every other unexplained event (programmatic calls): runs of the same call on the same resource
   * become one line, "`s3:GetObject` ×120 on bucket X".
   */
  collapse: z.strictObject({
    /** Calls further apart than this start a new line. */
    gapSeconds: z.number().min(0),
    /** requestParameters paths naming the resource, per event source prefix (first found wins). */
    resourcePaths: z.record(z.string(), z.array(z.string()).min(1)),
    /** What the resource is called in the line, per event source prefix (e.g. s3: bucket). */
    resourceNouns: z.record(z.string(), z.string()).default({}),
  }),
});
export type FallbackFile = z.infer<typeof FallbackFileSchema>;

/** Plain words for calls that are not console clicks (rules/signals/programmatic.yaml). */
export const ProgrammaticFileSchema = z.strictObject({
  runGapSeconds: z.number().min(0),
  burstGapSeconds: z.number().min(0),
  enumerateAt: z.number().int().min(1),
  maxServicesPerBurst: z.number().int().min(1),
  tools: z.record(
    z.string(),
    z.strictObject({
      name: z.string().min(1),
      kind: z.enum(['deployment', 'attack', 'inventory', 'cli', 'sdk']),
      /** Regex on the user agent; its first group tells one run of the tool from another. */
      runKey: z.string().optional(),
      /** Regex on the user agent with two groups: the CLI command's service and operation. */
      command: z.string().optional(),
    }),
  ),
  services: z.record(z.string(), z.string().min(1)),
  global: z.array(z.string()).default([]),
  readVerbs: z.strictObject({ list: z.array(z.string()), read: z.array(z.string()) }),
  verbs: z.record(z.string(), z.string().min(1)),
  /** Reads that say more with their own verb ("Downloaded" S3 objects). */
  readVerbOverrides: z.record(eventName, z.string().min(1)).default({}),
  nouns: z.record(eventName, z.string().min(1)).default({}),
  /** Calls said as a whole phrase instead of verb + service + noun ("Left the AWS organization"). */
  phrases: z.record(eventName, z.string().min(1)).default({}),
  words: z.record(z.string(), z.string().min(1)).default({}),
});
export type ProgrammaticFile = z.infer<typeof ProgrammaticFileSchema>;
