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

/** Only the fields an analyst scans; never request or response bodies (they can carry secrets). */
export function compactEvent(e: EngineEvent): CompactEvent {
  const r = e.record;
  const out: CompactEvent = {
    id: e.id,
    time: r.eventTime,
    eventSource: r.eventSource,
    eventName: r.eventName,
  };
  if (r.awsRegion !== undefined) out.awsRegion = r.awsRegion;
  if (r.sourceIPAddress !== undefined) out.sourceIPAddress = r.sourceIPAddress;
  if (r.userAgent !== undefined) out.userAgent = r.userAgent;
  if (r.errorCode !== undefined) out.errorCode = r.errorCode;
  if (e.enrichment !== undefined) out.enrichment = e.enrichment;
  return out;
}

export function sessionJson(s: SessionReport, withEvents: boolean): string {
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
