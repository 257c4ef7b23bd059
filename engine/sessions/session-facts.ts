import type { EngineEvent, Principal, SessionKind } from '../model.ts';
import { compareEvents } from '../order.ts';
import type { SessionContext } from '../stages.ts';
import { bundledUserAgents, isConsoleEvidence } from '../user-agent.ts';
import { isServiceIdentity, isServiceSource, principalOf, principalScore } from './session-key.ts';

/**
 * What a session knows about itself, accumulated event by event (so it can be kept even after the
 * events are dropped): principal, keys, MFA, console or not, where from, when, how much. The result
 * does not depend on the order events are added in, and two parts' facts merge into the facts of both.
 */
export class SessionFacts {
  /** The session's name; the sessionizer sets it when the session closes (`KEY#2` …). */
  key: string;
  readonly baseKey: string;
  principal: Principal = {};
  #principalScore = -1;
  /** The event the principal was taken from: among equally complete ones, the first in event order. */
  #principalFrom: EngineEvent | undefined;
  readonly accessKeyIds = new Set<string>();
  /** Value → number of events, so lists can put the usual value first. */
  readonly #sourceIps = new RunCounts();
  readonly #userAgents = new RunCounts();
  readonly regions = new Set<string>();
  /**
   * A session repeats its caller's key, address, user agent and region: each is compared with the last event's
   * (a string comparison) before any hashing, and the counts of a run of equal values are added when it ends.
   */
  #key: string | undefined;
  #region: string | undefined;
  /** The last user agent found not to be console evidence. */
  #uaNotConsole: string | undefined;
  start = Number.POSITIVE_INFINITY;
  end = Number.NEGATIVE_INFINITY;
  eventCount = 0;
  errorCount = 0;
  #mfaYes = false;
  #mfaNo = false;
  #consoleEvidence = false;
  #allFromServices = true;
  #anyIdentity = false;

  constructor(key: string, baseKey: string) {
    this.key = key;
    this.baseKey = baseKey;
  }

  add(event: EngineEvent): void {
    const r = event.record;
    const u = r.userIdentity;
    this.eventCount++;
    if (r.errorCode) this.errorCount++;
    if (event.time < this.start) this.start = event.time;
    if (event.time > this.end) this.end = event.time;
    const key = u?.accessKeyId;
    if (key && key !== this.#key) {
      this.#key = key;
      this.accessKeyIds.add(key);
    }
    const ip = r.sourceIPAddress;
    if (ip) this.#sourceIps.add(ip, 1);
    const ua = r.userAgent;
    if (ua) this.#userAgents.add(ua, 1);
    const region = r.awsRegion;
    if (region && region !== this.#region) {
      this.#region = region;
      this.regions.add(region);
    }
    if (u) {
      // Keep the most complete description of who this is (sign-in events often lack the ARN). Scored
      // without building it: most events of a session describe the same principal again.
      const score = principalScore(u);
      let p: Principal | undefined;
      if (
        score > this.#principalScore ||
        (score === this.#principalScore &&
          event.time <= this.#principalFrom!.time &&
          compareEvents(event, this.#principalFrom!) < 0)
      ) {
        p = principalOf(u);
        this.principal = p;
        this.#principalScore = score;
        this.#principalFrom = event;
      }
      if (!this.#anyIdentity) {
        p ??= principalOf(u);
        if (p.type || p.arn || p.userName) this.#anyIdentity = true;
      }
    }
    const mfa = u?.sessionContext?.attributes?.mfaAuthenticated;
    if (mfa === 'true') this.#mfaYes = true;
    else if (mfa === 'false') this.#mfaNo = true;
    if (r.eventSource === 'signin.amazonaws.com') {
      this.#consoleEvidence = true;
      const used = (r.additionalEventData as { MFAUsed?: unknown } | null | undefined)?.MFAUsed;
      if (used === 'Yes') this.#mfaYes = true;
      else if (used === 'No' && r.eventName === 'ConsoleLogin') this.#mfaNo = true;
    }
    // Both flags only ever flip one way: once flipped, their (regex) tests are skipped.
    if (!this.#consoleEvidence) {
      if (r.sessionCredentialFromConsole === 'true') this.#consoleEvidence = true;
      else if (ua && ua !== this.#uaNotConsole) {
        if (isConsoleUserAgent(ua)) this.#consoleEvidence = true;
        else this.#uaNotConsole = ua;
      }
    }
    if (this.#allFromServices && !((u && isServiceIdentity(u)) || isServiceSource(r.sourceIPAddress)))
      this.#allFromServices = false;
  }

  /** Takes in another part's facts (a late event bridged the two parts). */
  merge(other: SessionFacts): void {
    this.eventCount += other.eventCount;
    this.errorCount += other.errorCount;
    if (other.start < this.start) this.start = other.start;
    if (other.end > this.end) this.end = other.end;
    for (const k of other.accessKeyIds) this.accessKeyIds.add(k);
    for (const r of other.regions) this.regions.add(r);
    for (const [v, n] of other.sourceIps) this.#sourceIps.add(v, n);
    for (const [v, n] of other.userAgents) this.#userAgents.add(v, n);
    const from = other.#principalFrom;
    if (
      from &&
      (other.#principalScore > this.#principalScore ||
        (other.#principalScore === this.#principalScore && compareEvents(from, this.#principalFrom!) < 0))
    ) {
      this.principal = other.principal;
      this.#principalScore = other.#principalScore;
      this.#principalFrom = from;
    }
    this.#mfaYes ||= other.#mfaYes;
    this.#mfaNo ||= other.#mfaNo;
    this.#consoleEvidence ||= other.#consoleEvidence;
    this.#allFromServices &&= other.#allFromServices;
    this.#anyIdentity ||= other.#anyIdentity;
  }

  get mfa(): boolean | undefined {
    if (this.#mfaYes) return true;
    return this.#mfaNo ? false : undefined;
  }

  /**
   * console: any console evidence (console credential flag, sign-in events, browser or console user
   * agents). `AWS Internal` alone is not evidence: services use it too. service: every call came from
   * an AWS service. programmatic: a known principal otherwise.
   */
  get kind(): SessionKind {
    if (this.#consoleEvidence) return 'console';
    if (this.eventCount > 0 && this.#allFromServices) return 'service';
    return this.#anyIdentity ? 'programmatic' : 'unknown';
  }

  /** Address → number of events. */
  get sourceIps(): Map<string, number> {
    return this.#sourceIps.all();
  }

  /** User agent → number of events. */
  get userAgents(): Map<string, number> {
    return this.#userAgents.all();
  }

  context(): SessionContext {
    const ctx: SessionContext = {
      key: this.key,
      kind: this.kind,
      principal: this.principal,
      accessKeyIds: sorted(this.accessKeyIds),
      sourceIps: byFrequency(this.sourceIps),
      userAgents: byFrequency(this.userAgents),
      regions: sorted(this.regions),
    };
    const mfa = this.mfa;
    if (mfa !== undefined) ctx.mfa = mfa;
    return ctx;
  }
}

/** Browser user agents and the console pages and sign-in that name themselves (rules/user-agents.yaml). */
export function isConsoleUserAgent(ua: string | undefined): boolean {
  return isConsoleEvidence(bundledUserAgents(), ua);
}

/**
 * Value → count, for values that come in runs (a session repeats its address and user agent): a value equal to
 * the last one only extends the run (a string comparison); the run's count is added to the map when it ends.
 */
class RunCounts {
  readonly #counts = new Map<string, number>();
  #value: string | undefined;
  #run = 0;

  add(value: string, n: number): void {
    if (value === this.#value) {
      this.#run += n;
      return;
    }
    this.#flush();
    this.#value = value;
    this.#run = n;
  }

  all(): Map<string, number> {
    this.#flush();
    return this.#counts;
  }

  #flush(): void {
    if (this.#run > 0) this.#counts.set(this.#value!, (this.#counts.get(this.#value!) ?? 0) + this.#run);
    this.#run = 0;
    this.#value = undefined;
  }
}

function sorted(s: Set<string>): string[] {
  return [...s].sort();
}

/** Most frequent first; ties alphabetically, so the order never depends on input order. */
function byFrequency(m: Map<string, number>): string[] {
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([v]) => v);
}
