/**
 * A rule's JavaScript regular expression as a pattern Athena (Trino's Joni) and DuckDB (RE2, in the tests) read the
 * same way, or undefined when it uses anything outside a small common subset: printable ASCII literals, `.`, `^`,
 * `$`, groups `(…)` / `(?:…)`, alternation, quantifiers (`*` `+` `?` `{n,m}`, lazy too), classes with ranges and the
 * escapes `\d \w \s \b` (and their negations), `\t \n \r \f \v`, `\xhh` and escaped punctuation. Look-arounds,
 * back-references, named groups, Unicode escapes and properties are not sent: the rule is then decided in Node.
 * (Text outside printable ASCII is let through to Node by the caller, where the engines' classes differ.)
 */
const ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 't', 'n', 'r', 'f']);
const PRINTABLE = /^[\x20-\x7E]$/;
const PUNCTUATION = /^[!-/:-@[-`{-~]$/;

export function portableRegex(source: string, ignoreCase: boolean): string | undefined {
  const out = new RegexReader(source).pattern();
  return out === undefined ? undefined : ignoreCase ? `(?i)${out}` : out;
}

class RegexReader {
  private i = 0;
  constructor(private readonly s: string) {}

  pattern(): string | undefined {
    let out = '';
    while (this.i < this.s.length) {
      const piece = this.next(out === '');
      if (piece === undefined) return undefined;
      out += piece;
    }
    return out;
  }

  private next(atStart: boolean): string | undefined {
    const c = this.s[this.i]!;
    if (c === '\\') return this.escape(false);
    if (c === '[') return this.charClass();
    if (c === '(') {
      if (this.s[this.i + 1] !== '?') return this.take(1);
      return this.s[this.i + 2] === ':' ? this.take(3) : undefined;
    }
    if (c === '{') {
      const q = /^\{\d+(,\d*)?\}\??/.exec(this.s.slice(this.i));
      return q && !atStart ? this.take(q[0].length) : undefined;
    }
    if (c === '}') {
      this.i++;
      return '\\}';
    }
    return PRINTABLE.test(c) ? this.take(1) : undefined;
  }

  private take(n: number): string {
    const piece = this.s.slice(this.i, this.i + n);
    this.i += n;
    return piece;
  }

  private escape(inClass: boolean): string | undefined {
    const c = this.s[this.i + 1];
    if (c === undefined) return undefined;
    if (ESCAPES.has(c) || (!inClass && (c === 'b' || c === 'B'))) return this.take(2);
    if (c === 'v') {
      this.i += 2;
      return '\\x0B';
    }
    if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(this.s.slice(this.i + 2, this.i + 4))) return this.take(4);
    return PUNCTUATION.test(c) ? this.take(2) : undefined;
  }

  /** `[…]`: ranges, escapes and printable literals; no nested `[`, no `&&` (Java reads both as set operations). */
  private charClass(): string | undefined {
    let out = this.take(1);
    if (this.s[this.i] === '^') out += this.take(1);
    if (this.s[this.i] === ']') return undefined;
    while (this.i < this.s.length && this.s[this.i] !== ']') {
      const c = this.s[this.i]!;
      let piece: string | undefined;
      if (c === '\\') piece = this.escape(true);
      else if (c === '[' || (c === '&' && this.s[this.i + 1] === '&') || !PRINTABLE.test(c))
        piece = undefined;
      else piece = this.take(1);
      if (piece === undefined) return undefined;
      out += piece;
    }
    return this.s[this.i] === ']' ? out + this.take(1) : undefined;
  }
}
