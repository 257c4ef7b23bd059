/**
 * The shared vocabulary of Cartographer: what flows between ingestion, sessions,
 * signals, enrichment, detections, the CLI and the bot.
 *
 * These shapes are the public contract of `cartographer summarize --format json`
 * and `cartographer scan --format json`; scripts read them, so names are stable.
 */
import type { CloudTrailRecord, Rejected } from './record.ts';

export type SessionKind = 'console' | 'programmatic' | 'service' | 'unknown';
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/** A record with the few derived values every stage needs, computed once at ingestion. */
export interface EngineEvent {
  record: CloudTrailRecord;
  /** Epoch milliseconds of `eventTime`. */
  time: number;
  /** `eventID`, or a stable synthetic id when the record has none. */
  id: string;
  /** Ingestion sequence number: the tie-break of last resort, after (time, source, name, id). */
  seq: number;
  /** Enrichment facts, filled by `enrichment/` (absent until enriched). */
  enrichment?: EventEnrichment;
}

export interface Principal {
  type?: string;
  arn?: string;
  userName?: string;
  accountId?: string;
  principalId?: string;
  /** For assumed roles: the role ARN behind the session. */
  issuerArn?: string;
}

export interface MitreTechnique {
  /** e.g. `T1562.008` */
  id: string;
  /** e.g. `Disable or Modify Cloud Logs` */
  name: string;
  /** e.g. `Defense Evasion` (ATT&CK tactic names as on attack.mitre.org) */
  tactics: string[];
  /** Where the mapping comes from: `traildiscover`, `stratus-red-team`, `sigma:<rule id>`, `cartographer`. */
  sources: string[];
}

export type AccessLevel = 'List' | 'Read' | 'Write' | 'Permissions management' | 'Tagging';

export type RiskCategory =
  | 'privilege-escalation'
  | 'credentials-exposure'
  | 'data-exfiltration'
  | 'resource-exposure'
  | 'infrastructure-modification';

export interface EventEnrichment {
  /** IAM actions this event needs, e.g. `['s3:ListBucket']`. Empty for events that are no IAM action. */
  iamActions: string[];
  accessLevel?: AccessLevel;
  riskCategories: RiskCategory[];
  mitre: MitreTechnique[];
  /** e.g. `console`, `cloudshell`, `aws-cli`, `boto3`, `terraform`, `pacu`, `stratus-red-team`. */
  userAgentFamily: string;
  /** Marked when the user agent belongs to an offensive tool. */
  offensiveTool?: string;
  /** `aws-service` | `aws-internal` | `private` | `public` | `malformed` | `missing` */
  sourceKind: string;
  /** Failed calls: `denied` | `throttled` | `not-found` | `invalid` | `other`. */
  errorKind?: string;
  /** Credential lineage: where the access key used by this event was issued. */
  lineage?: CredentialLineage;
  /** Findings of policy analysis, when the event carries a policy document. */
  policy?: PolicyAnalysis;
}

export interface CredentialLineage {
  /** The event that issued the key (AssumeRole*, GetSessionToken, GetFederationToken). */
  issuedByEventId: string;
  issuedByEventName: string;
  issuedTo?: string;
  issuedFromIp?: string;
  /** Chain of issuing events, root first, for role chaining. */
  chain: string[];
  /** Used from a network origin other than the one it was issued to. */
  originMismatch?: boolean;
  reason?: string;
}

export interface PolicyAnalysis {
  fullAdmin: boolean;
  privilegeEscalationActions: string[];
  publicPrincipal: boolean;
  crossAccountPrincipals: string[];
  /** Human sentences naming the statement (Sid or index) that causes each flag. */
  notes: string[];
}

/** A user action recognised from one or more events (console click, API call, collapsed repeats). */
export interface Signal {
  /** Stable identifier; Cloud Console Cartographer's label where the action exists there. */
  id: string;
  name: string;
  summary: string;
  url?: string;
  service: string;
  start: string;
  end: string;
  eventIds: string[];
  suppressed: boolean;
  details: Record<string, unknown>;
}

export interface Finding {
  id: string;
  ruleId: string;
  title: string;
  severity: Severity;
  techniques: string[];
  tactics: string[];
  sessionKey: string;
  principal?: string;
  time: string;
  eventIds: string[];
  explanation: string;
}

export interface SessionRisk {
  score: number;
  reasons: string[];
}

export interface SessionSummary {
  key: string;
  kind: SessionKind;
  principal: Principal;
  accessKeyIds: string[];
  mfa?: boolean;
  sourceIps: string[];
  userAgents: string[];
  regions: string[];
  start: string;
  end: string;
  eventCount: number;
  errorCount: number;
  signals: Signal[];
  unmappedEventIds: string[];
  findings: Finding[];
  risk?: SessionRisk;
}

export interface InputsSummary {
  files: number;
  records: number;
  duplicates: number;
  rejected: Rejected[];
  /**
   * Notes, not errors: files left out on purpose (digest files, hidden files), and (`where: 'sessions'`) records
   * that came later than the lateness allowance or a memory valve that put sessions out of start order.
   */
  skipped?: Rejected[];
}
