import type { EngineEvent, InputsSummary } from '../../engine/model.ts';
import type { SessionReport } from '../../engine/pipeline.ts';

/**
 * `summarize --format json`, written session by session so a million events never become one string:
 *   {"sessions":[{…},{…}],"inputs":{…},"meta":{…}}
 * Field names are a public contract (scripts read them).
 */
export interface CompactEvent {
  id: string;
  time: string;
  eventSource: string;
  eventName: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string;
  enrichment?: EngineEvent['enrichment'];
}

/**
 * Only the fields an analyst scans; never request or response bodies (they can carry secrets). One object
 * literal, one hidden class: absent fields are undefined slots, which JSON.stringify leaves out.
 */
export function compactEvent(e: EngineEvent): CompactEvent {
  const r = e.record;
  return {
    id: e.id,
    time: r.eventTime,
    eventSource: r.eventSource,
    eventName: r.eventName,
    awsRegion: r.awsRegion,
    sourceIPAddress: r.sourceIPAddress,
    userAgent: r.userAgent,
    errorCode: r.errorCode,
    enrichment: e.enrichment,
  };
}

export function sessionJson(s: SessionReport, withEvents: boolean): string {
  // Without --events a report holds no events: written as it is, without two copies of it first.
  if (!withEvents && s.events === undefined) return JSON.stringify(s);
  const { events, ...summary } = s;
  const doc: Record<string, unknown> = { ...summary };
  if (withEvents) doc.events = (events ?? []).map(compactEvent);
  return JSON.stringify(doc);
}

type Write = (text: string) => Promise<void>;

export class JsonDocumentWriter {
  #first = true;
  readonly #write: Write;
  constructor(write: Write) {
    this.#write = write;
  }
  async begin(): Promise<void> {
    await this.#write('{"sessions":[');
  }
  async session(s: SessionReport, withEvents: boolean): Promise<void> {
    await this.sessionText(sessionJson(s, withEvents));
  }
  /** A session already written as JSON by sessionJson (on a worker thread, say). */
  async sessionText(json: string): Promise<void> {
    // Two writes, not one concatenation: the joined (cons) string would be flattened, a full copy of the
    // session's text (two bytes a character when it holds a dash or any non-Latin-1 letter), before encoding.
    await this.#write(this.#first ? '\n' : ',\n');
    await this.#write(json);
    this.#first = false;
  }
  async end(inputs: InputsSummary, meta: Record<string, unknown>): Promise<void> {
    await this.#write(`\n],\n"inputs":${JSON.stringify(inputs)},\n"meta":${JSON.stringify(meta)}}\n`);
  }
}

/** A writer to a stream that waits for `drain`, so output never piles up in memory. */
export function streamWriter(stream: NodeJS.WritableStream): Write {
  return (text) =>
    new Promise((resolve, reject) => {
      const ok = stream.write(text, (err) => {
        if (err) reject(err);
      });
      if (ok) resolve();
      else stream.once('drain', () => resolve());
    });
}
