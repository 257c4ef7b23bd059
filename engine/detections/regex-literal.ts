/**
 * The longest literal every match of a regular expression must contain, so a cheap `includes` can rule an
 * input out before the regex runs. Conservative: patterns with alternation or groups give no literal.
 * (SigmaHQ's `.+:assumed-role/aws:.+` backtracks over every ARN; `includes(':assumed-role/aws:')` does not.)
 */
export function requiredLiteral(source: string): string | undefined {
  if (source.includes('|') || source.includes('(')) return undefined;
  let best = '';
  let run = '';
  const flush = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    let literal: string | undefined;
    if (c === '\\') {
      const next = source[i + 1];
      i++;
      if (next === undefined || /[A-Za-z0-9]/.test(next)) {
        flush();
        continue;
      }
      literal = next;
    } else if (c === '[') {
      flush();
      const close = source.indexOf(']', i + 2);
      if (close < 0) return undefined;
      i = close;
      continue;
    } else if ('.^$'.includes(c)) {
      flush();
      continue;
    } else if ('*?{'.includes(c)) {
      // The previous character may be absent: it leaves the run.
      run = run.slice(0, -1);
      flush();
      if (c === '{') {
        const close = source.indexOf('}', i);
        if (close < 0) return undefined;
        i = close;
      }
      continue;
    } else if (c === '+') {
      flush();
      continue;
    } else literal = c;
    const q = source[i + 1];
    if (q === '*' || q === '?' || q === '{') {
      flush();
      continue;
    }
    run += literal;
  }
  flush();
  return best.length >= 3 ? best : undefined;
}

/** `re.test` behind a literal prefilter when the pattern has one. */
export function fastRegexTest(re: RegExp): (text: string) => boolean {
  const literal = requiredLiteral(re.source);
  if (!literal) return (text) => re.test(text);
  if (re.flags.includes('i')) {
    const lower = literal.toLowerCase();
    return (text) => text.toLowerCase().includes(lower) && re.test(text);
  }
  return (text) => text.includes(literal) && re.test(text);
}
