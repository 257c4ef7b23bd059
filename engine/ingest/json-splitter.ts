/**
 * Splits a stream of JSON text into the texts of individual records without ever holding the whole
 * input, so a 50 MB delivery file costs one record of memory at a time, not 50 MB of objects.
 *
 * The first top-level value is scanned structurally:
 *   - `[ … ]`                       each element is a piece;
 *   - `{"Records": [ … ], …}`       (S3 delivery) and `{"Events": [ … ], …}` (lookup-events output,
 *                                   raw LookupEvents response): each array element is a piece, other keys
 *                                   are skipped whatever their order;
 *   - any other object              the whole object is a piece (a single record).
 * Anything after the first value is read as JSON Lines (one value per line), which is what JSON Lines
 * files are once their first line is read. A line that does not parse is reported with its number and
 * the next line is read normally, so one bad line costs that line only.
 *
 * A record (or line) longer than `maxRecordChars` is refused with an error piece at its place: once it
 * passes the cap its text is dropped as it is scanned, so a 60 MB record costs the cap, not 60 MB.
 */

export type Piece =
  | { kind: 'value'; text: string; line: number; position?: number }
  | { kind: 'error'; line: number; position?: number; reason: string };

const WRAPPER_KEYS = new Set(['Records', 'Events', 'QueryResultRows']);

const QUOTE = 34; // "
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;
const NEWLINE = 10;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const BOM = 0xfeff;

type Mode = 'top' | 'array' | 'object' | 'lines' | 'done';

export interface SplitterOptions {
  /** Longest record (or JSON Lines line) kept, in characters of JSON text (default: no limit). */
  maxRecordChars?: number;
}

export class JsonSplitter {
  readonly #maxRecord: number;
  #buf = '';
  /** Characters dropped from the front of #buf so far (absolute offset of #buf[0]). */
  #consumed = 0;
  /** The record being captured passed the cap: its text is being skipped, not kept. */
  #oversize = false;
  /** The JSON Lines line in progress passed the cap. */
  #oversizeLine = false;
  /** Absolute offset where the oversize record or line began. */
  #oversizeStart = 0;
  #pos = 0;
  /** Line number (1-based) of the character at #pos. */
  #line = 1;
  #mode: Mode = 'top';
  #depth = 0;
  #inString = false;
  /** Depth at which elements are pieces (1 in a top-level array, 2 in a wrapper array), 0 when none. */
  #elemDepth = 0;
  /** Start (in #buf) of the text being captured, or -1. */
  #captureStart = -1;
  #captureLine = 0;
  /** A primitive element (number, true, …) is being captured: it ends at `,`, `]` or whitespace. */
  #capturingPrimitive = false;
  /** The top-level object turned out to be a wrapper: its own text is not a piece. */
  #topIsWrapper = false;
  #expectKey = false;
  #keyStart = -1;
  #pendingWrapper = false;
  #position = 0;
  #pieces: Piece[] = [];

  constructor(options: SplitterOptions = {}) {
    this.#maxRecord = options.maxRecordChars ?? Number.POSITIVE_INFINITY;
  }

  /** Feeds text; returns the pieces completed by it. */
  push(chunk: string): Piece[] {
    this.#buf += chunk;
    this.#run(false);
    this.#compact();
    return this.#drain();
  }

  /** Ends the input; returns the last pieces (and an error if the text stopped inside a value). */
  end(): Piece[] {
    this.#run(true);
    if (this.#mode === 'object' && !this.#topIsWrapper && this.#captureStart >= 0 && !this.#oversize) {
      // The first "object" never closed: most likely JSON Lines whose first line is broken. Re-read the
      // captured text line by line so every good line after it still counts.
      this.#pos = this.#captureStart;
      this.#line = this.#captureLine;
      this.#captureStart = -1;
      this.#mode = 'lines';
      this.#lines();
    }
    if (this.#mode === 'lines') {
      if (!this.#oversizeLine && this.#buf.length - this.#pos > this.#maxRecord) {
        this.#oversizeLine = true;
        this.#oversizeStart = this.#consumed + this.#pos;
      }
      if (this.#oversizeLine) this.#refuseLine(this.#buf.length);
      else this.#flushLine(this.#buf.length);
    } else if (this.#mode !== 'top' && this.#mode !== 'done') {
      const where = this.#inElement() ? this.#captureLine : this.#line;
      const inRecord = this.#inElement() && this.#elemDepth > 0;
      this.#pieces.push({
        kind: 'error',
        line: where,
        position: inRecord ? this.#position + 1 : undefined,
        reason: inRecord
          ? 'input ends inside a record (truncated file?)'
          : 'input ends before the closing bracket (truncated file?)',
      });
    }
    this.#mode = 'done';
    this.#buf = '';
    this.#pos = 0;
    return this.#drain();
  }

  #drain(): Piece[] {
    const out = this.#pieces;
    this.#pieces = [];
    return out;
  }

  /** Inside a record being captured (kept, or skipped for its size). */
  #inElement(): boolean {
    return this.#captureStart >= 0 || this.#oversize;
  }

  /**
   * Drops consumed text so the buffer holds at most the record in progress plus one chunk; a record past
   * the cap is dropped too (from then on it is only scanned for its end).
   */
  #compact(): void {
    if (
      this.#captureStart >= 0 &&
      this.#mode !== 'lines' &&
      this.#buf.length - this.#captureStart > this.#maxRecord
    ) {
      this.#oversize = true;
      this.#oversizeStart = this.#consumed + this.#captureStart;
      this.#captureStart = -1;
    }
    let keep = this.#mode === 'lines' ? this.#pos : this.#captureStart >= 0 ? this.#captureStart : this.#pos;
    if (this.#keyStart >= 0) keep = Math.min(keep, this.#keyStart);
    if (keep <= 0) return;
    this.#buf = this.#buf.slice(keep);
    this.#consumed += keep;
    this.#pos -= keep;
    if (this.#captureStart >= 0) this.#captureStart -= keep;
    if (this.#keyStart >= 0) this.#keyStart -= keep;
  }

  #run(atEnd: boolean): void {
    while (true) {
      switch (this.#mode) {
        case 'top':
          if (!this.#startTop()) return;
          break;
        case 'array':
        case 'object':
          if (!this.#scan(atEnd)) return;
          break;
        case 'lines':
          this.#lines();
          return;
        case 'done':
          this.#pos = this.#buf.length;
          return;
      }
    }
  }

  /** Skips whitespace to the first value; false when more input is needed. */
  #startTop(): boolean {
    const buf = this.#buf;
    let i = this.#pos;
    while (i < buf.length) {
      const c = buf.charCodeAt(i);
      if (c === NEWLINE) this.#line++;
      else if (c !== SPACE && c !== TAB && c !== CR && c !== BOM) break;
      i++;
    }
    this.#pos = i;
    if (i >= buf.length) return false;
    const c = buf.charCodeAt(i);
    if (c === OPEN_BRACKET) {
      this.#mode = 'array';
      this.#depth = 1;
      this.#elemDepth = 1;
      this.#pos = i + 1;
    } else if (c === OPEN_BRACE) {
      this.#mode = 'object';
      this.#depth = 1;
      this.#captureStart = i;
      this.#captureLine = this.#line;
      this.#expectKey = true;
      this.#pos = i + 1;
    } else {
      // Not an object or array: maybe JSON Lines with a bad first line. Read the rest line by line.
      this.#mode = 'lines';
    }
    return true;
  }

  /** Structural scan of the first value. False when more input is needed. */
  #scan(atEnd: boolean): boolean {
    const buf = this.#buf;
    const n = buf.length;
    let i = this.#pos;
    while (i < n) {
      if (this.#inString) {
        let q = buf.indexOf('"', i);
        while (q >= 0 && isEscaped(buf, q)) q = buf.indexOf('"', q + 1);
        if (q < 0) {
          // Resume a little before the end so escaping backslashes at the chunk edge are still in the buffer.
          this.#pos = Math.max(i, n - 64);
          return false;
        }
        this.#inString = false;
        i = q + 1;
        if (this.#keyStart >= 0) {
          const key = buf.slice(this.#keyStart + 1, q);
          this.#keyStart = -1;
          this.#expectKey = false;
          this.#pendingWrapper = WRAPPER_KEYS.has(key);
        }
        if (this.#capturingPrimitive && this.#depth === this.#elemDepth) this.#emitCapture(i);
        continue;
      }
      if (this.#inElement() && this.#depth > this.#elemDepth && this.#elemDepth > 0) {
        i = this.#skipInsideElement(i);
        continue;
      }
      const c = buf.charCodeAt(i);
      if (this.#capturingPrimitive) {
        if (c === COMMA || c === CLOSE_BRACKET || c === NEWLINE || c === SPACE || c === TAB || c === CR) {
          this.#emitCapture(i);
          continue; // re-read the delimiter
        }
        i++;
        continue;
      }
      switch (c) {
        case QUOTE:
          this.#inString = true;
          if (this.#depth === this.#elemDepth && this.#captureStart < 0) {
            this.#beginCapture(i);
            this.#capturingPrimitive = true;
          } else if (this.#depth === 1 && this.#mode === 'object' && this.#expectKey) {
            this.#keyStart = i;
          } else if (this.#depth === 1 && this.#mode === 'object') {
            this.#pendingWrapper = false;
          }
          i++;
          break;
        case OPEN_BRACE:
        case OPEN_BRACKET:
          if (this.#depth === this.#elemDepth && this.#captureStart < 0) this.#beginCapture(i);
          if (this.#depth === 1 && this.#mode === 'object' && this.#elemDepth === 0) {
            if (this.#pendingWrapper && c === OPEN_BRACKET) {
              this.#topIsWrapper = true;
              this.#captureStart = -1;
              this.#oversize = false;
              this.#elemDepth = 2;
            }
            this.#pendingWrapper = false;
          }
          this.#depth++;
          i++;
          break;
        case CLOSE_BRACE:
        case CLOSE_BRACKET:
          this.#depth--;
          i++;
          if (this.#depth < 0) return this.#syntaxError(i, `unexpected '${String.fromCharCode(c)}'`);
          if (this.#elemDepth > 0 && this.#depth === this.#elemDepth && this.#inElement()) {
            this.#emitCapture(i);
          } else if (this.#elemDepth > 0 && this.#depth === this.#elemDepth - 1) {
            this.#elemDepth = 0; // the array of pieces closed
          }
          if (this.#depth === 0) {
            if (this.#mode === 'object' && !this.#topIsWrapper && this.#inElement()) this.#emitCapture(i);
            this.#pos = i;
            this.#mode = 'lines';
            this.#captureStart = -1;
            return true;
          }
          break;
        case COMMA:
          if (this.#depth === 1 && this.#mode === 'object') this.#expectKey = true;
          i++;
          break;
        case NEWLINE:
          this.#line++;
          i++;
          break;
        case SPACE:
        case TAB:
        case CR:
        case COLON:
          i++;
          break;
        default:
          if (this.#depth === this.#elemDepth && this.#captureStart < 0) {
            this.#beginCapture(i);
            this.#capturingPrimitive = true;
          } else if (this.#depth === 1 && this.#mode === 'object') {
            this.#pendingWrapper = false;
          }
          i++;
      }
    }
    this.#pos = n;
    if (atEnd && this.#capturingPrimitive) this.#emitCapture(n);
    return false;
  }

  /**
   * The hot loop: inside a record only brackets, strings and newlines matter. State lives in locals
   * (private fields are slower in tight loops) and strings are skipped with indexOf.
   */
  #skipInsideElement(start: number): number {
    const buf = this.#buf;
    const n = buf.length;
    const stop = this.#elemDepth;
    let depth = this.#depth;
    let line = this.#line;
    let i = start;
    while (i < n) {
      const c = buf.charCodeAt(i);
      if (c === QUOTE) {
        let q = buf.indexOf('"', i + 1);
        while (q >= 0 && isEscaped(buf, q)) q = buf.indexOf('"', q + 1);
        if (q < 0) {
          this.#inString = true;
          i += 1;
          break;
        }
        i = q + 1;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
        i++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        i++;
        if (depth === stop) {
          this.#depth = depth;
          this.#line = line;
          this.#emitCapture(i);
          return i;
        }
      } else {
        if (c === NEWLINE) line++;
        i++;
      }
    }
    this.#depth = depth;
    this.#line = line;
    return i;
  }

  #beginCapture(i: number): void {
    this.#captureStart = i;
    this.#captureLine = this.#line;
  }

  #emitCapture(end: number): void {
    this.#position++;
    if (!this.#oversize && end - this.#captureStart > this.#maxRecord) {
      // Arrived complete within one chunk, yet over the cap.
      this.#oversize = true;
      this.#oversizeStart = this.#consumed + this.#captureStart;
    }
    if (this.#oversize) {
      this.#oversize = false;
      this.#pieces.push({
        kind: 'error',
        line: this.#captureLine,
        position: this.#elemDepth > 0 ? this.#position : undefined,
        reason: this.#tooLarge(this.#consumed + end),
      });
      this.#captureStart = -1;
      this.#capturingPrimitive = false;
      this.#pos = end;
      return;
    }
    this.#pieces.push({
      kind: 'value',
      text: this.#buf.slice(this.#captureStart, end),
      line: this.#captureLine,
      position: this.#elemDepth > 0 ? this.#position : undefined,
    });
    this.#captureStart = -1;
    this.#capturingPrimitive = false;
    this.#pos = end;
  }

  /** Gives up on structure: reports the line and reads the rest as JSON Lines from the next line. */
  #syntaxError(i: number, reason: string): boolean {
    this.#pieces.push({ kind: 'error', line: this.#line, reason });
    const nl = this.#buf.indexOf('\n', i);
    this.#captureStart = -1;
    this.#mode = 'lines';
    this.#pos = nl < 0 ? this.#buf.length : nl;
    return true;
  }

  #lines(): void {
    const buf = this.#buf;
    let nl = buf.indexOf('\n', this.#pos);
    while (nl >= 0) {
      if (!this.#oversizeLine && nl - this.#pos > this.#maxRecord) {
        this.#oversizeLine = true;
        this.#oversizeStart = this.#consumed + this.#pos;
      }
      if (this.#oversizeLine) this.#refuseLine(nl);
      else this.#flushLine(nl);
      this.#pos = nl + 1;
      this.#line++;
      nl = buf.indexOf('\n', this.#pos);
    }
    // The line in progress: past the cap, it is skipped to its end instead of gathered.
    if (!this.#oversizeLine && buf.length - this.#pos > this.#maxRecord) {
      this.#oversizeLine = true;
      this.#oversizeStart = this.#consumed + this.#pos;
    }
    if (this.#oversizeLine) this.#pos = buf.length;
  }

  #refuseLine(end: number): void {
    this.#oversizeLine = false;
    this.#pieces.push({ kind: 'error', line: this.#line, reason: this.#tooLarge(this.#consumed + end) });
  }

  #tooLarge(absoluteEnd: number): string {
    const mb = (n: number) => (n < 2 ** 20 ? `${Math.ceil(n / 1024)} KB` : `${(n / 2 ** 20).toFixed(1)} MB`);
    return `record too large: ${mb(absoluteEnd - this.#oversizeStart)} of JSON text, over the ${mb(this.#maxRecord)} record size cap (refused; the rest of the file is read)`;
  }

  #flushLine(end: number): void {
    const text = this.#buf.slice(this.#pos, end).trim();
    if (text.length > 0) this.#pieces.push({ kind: 'value', text, line: this.#line });
  }
}

function isEscaped(buf: string, quote: number): boolean {
  let k = quote - 1;
  while (k >= 0 && buf.charCodeAt(k) === BACKSLASH) k--;
  return (quote - 1 - k) % 2 === 1;
}
