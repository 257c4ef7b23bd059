/**
 * Command-line parsing with messages written for the person at the terminal. Node's parseArgs does the
 * parsing; before it, every argument is checked against the command's options here, so an unknown option,
 * a missing value or a flag given a value is reported in our words (and with the command's usage, by the
 * caller), never as Node's own message. A negative number given as a value (`--max-events -5`) is taken as
 * that option's value, so the option's own check can say why it is wrong.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

import { UsageError } from '../engine/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandLine<const O extends Options>(
  argv: readonly string[],
  options: O,
  allowPositionals = true,
) {
  const args = checkedArgs(argv, options, allowPositionals);
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    // checkedArgs found nothing wrong, so this is a case it does not know: still not Node's words.
    throw new UsageError(`cannot read the arguments (${(e as NodeJS.ErrnoException).code ?? 'invalid'})`);
  }
}

/** The arguments as parseArgs should see them; throws UsageError at the first bad one. */
function checkedArgs(argv: readonly string[], options: Options, allowPositionals: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      if (!allowPositionals && i + 1 < argv.length)
        throw new UsageError(`unexpected argument '${argv[i + 1]}'`);
      out.push(...argv.slice(i));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      if (!allowPositionals) throw new UsageError(`unexpected argument '${a}'`);
      out.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq < 0 ? a : a.slice(0, eq);
    const name = optionName(flag, options);
    const spec = name === undefined ? undefined : options[name];
    if (name === undefined || spec === undefined) throw new UsageError(unknownOption(flag, options));
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`${flag} takes no value (got '${a.slice(eq + 1)}')`);
      out.push(a);
      continue;
    }
    if (eq >= 0) {
      out.push(a);
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (value.startsWith('-') && value !== '-' && !/^-\d/.test(value)) {
      throw new UsageError(`${flag} needs a value (got the option '${value}')`);
    }
    out.push(`--${name}=${value}`);
    i++;
  }
  return out;
}

function optionName(flag: string, options: Options): string | undefined {
  if (flag.startsWith('--')) return flag.slice(2);
  if (flag.length !== 2) return undefined;
  return Object.keys(options).find((k) => options[k]!.short === flag[1]);
}

function unknownOption(flag: string, options: Options): string {
  const names = Object.keys(options).map((k) => `--${k}`);
  const close = names.find((n) => distance(n, flag) <= 2);
  return `unknown option '${flag}'${close ? ` (did you mean ${close}?)` : ''}`;
}

/** Edit distance, for "did you mean" (names are short). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
