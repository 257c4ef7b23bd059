/**
 * Reads a Dockerfile into stages of instructions, for bin/rehearse-image.js. Covers what Cartographer's
 * Dockerfile uses: ARG (before FROM), FROM … AS, WORKDIR, ENV, COPY [--from] [--chown], RUN, USER, VOLUME, EXPOSE,
 * HEALTHCHECK [options] CMD […], CMD […]; line continuations and comments. Anything else is an error, so the
 * rehearsal never silently skips a step the Dockerfile gained.
 */

const KNOWN = new Set([
  'FROM',
  'WORKDIR',
  'ENV',
  'COPY',
  'RUN',
  'USER',
  'VOLUME',
  'EXPOSE',
  'HEALTHCHECK',
  'CMD',
]);

/** Logical lines: continuations joined, comments and blank lines dropped; each with its first line number. */
function logicalLines(text) {
  const lines = [];
  let current;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (current === undefined && (/^\s*#/.test(line) || line.trim() === '')) return;
    if (current !== undefined && /^\s*#/.test(line)) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (current === undefined) current = { line: i + 1, text: body.trim() };
    else current.text += ` ${body.trim()}`;
    if (!continued) {
      lines.push(current);
      current = undefined;
    }
  });
  if (current) lines.push(current);
  return lines;
}

function substitute(value, args) {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => args[a ?? b] ?? m);
}

/** `--name=value` flags at the start of an argument string, and the rest. */
function splitFlags(rest) {
  const flags = {};
  let remaining = rest;
  for (;;) {
    const m = /^--([\w-]+)=(\S+)\s*/.exec(remaining);
    if (!m) return { flags, rest: remaining };
    flags[m[1]] = m[2];
    remaining = remaining.slice(m[0].length);
  }
}

/** A JSON array (exec form) or whitespace-separated words. */
function words(rest) {
  return rest.startsWith('[') ? JSON.parse(rest) : rest.split(/\s+/).filter(Boolean);
}

/** `K=V K2="v 2"` pairs of ENV. */
function envPairs(rest) {
  const pairs = {};
  for (const m of rest.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    pairs[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
  }
  return pairs;
}

function instruction(op, rest, line) {
  switch (op) {
    case 'COPY': {
      const { flags, rest: paths } = splitFlags(rest);
      const list = words(paths);
      return { op, line, flags, sources: list.slice(0, -1), dest: list.at(-1) };
    }
    case 'ENV':
      return { op, line, env: envPairs(rest) };
    case 'RUN':
      return { op, line, command: rest };
    case 'VOLUME':
    case 'EXPOSE':
    case 'CMD':
      return { op, line, args: words(rest) };
    case 'HEALTHCHECK': {
      const { flags, rest: cmd } = splitFlags(rest);
      if (!cmd.startsWith('CMD ')) throw new Error(`line ${line}: HEALTHCHECK without CMD`);
      return { op, line, flags, args: words(cmd.slice(4).trim()) };
    }
    default:
      return { op, line, value: rest };
  }
}

export function parseDockerfile(text) {
  const args = {};
  const stages = [];
  for (const { line, text: body } of logicalLines(text)) {
    const m = /^(\w+)\s+(.*)$/.exec(body);
    if (!m) throw new Error(`line ${line}: cannot read '${body}'`);
    const op = m[1].toUpperCase();
    const rest = m[2];
    if (op === 'ARG' && stages.length === 0) {
      const [name, value = ''] = rest.split('=');
      args[name] = value;
      continue;
    }
    if (!KNOWN.has(op)) throw new Error(`line ${line}: ${op} is not supported by the rehearsal`);
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(substitute(rest, args));
      stages.push({ image: from[1], name: from[2], line, instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`line ${line}: ${op} before FROM`);
    stages.at(-1).instructions.push(instruction(op, rest, line));
  }
  return { args, stages };
}

/** The exact Node.js release of an official `node:<x.y.z>-…` image tag, or undefined (floating tag). */
export function nodeVersionOf(image) {
  return /^node:(\d+\.\d+\.\d+)(?:-|$)/.exec(image)?.[1];
}

/** `.dockerignore` patterns as one predicate over context-relative paths (`*`, `**`, a leading `!` negates). */
export function dockerignore(text) {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(path)) ignored = !r.negate;
    return ignored;
  };
}
