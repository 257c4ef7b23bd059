#!/usr/bin/env node
/**
 * `npm run check:functions`: no function in the product longer than 120 lines (a screen), measured with the
 * TypeScript compiler API over every function, method, arrow function and accessor, nested ones included (a
 * function's length is from its first to its last line, its nested functions counted in it). Generated data
 * (files marked `@generated`) is left out. Prints the longest ones; exit 1 if any is over the limit.
 *
 *   node bin/function-length.js [--limit 120] [--top 10] [--json]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The product's source folders (bench/ and test/ are not the product). */
export const SOURCE_DIRS = [
  'adapters',
  'bot',
  'cli',
  'compose',
  'config',
  'engine',
  'enrichment',
  'playground',
];

function* tsFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(path);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield path;
  }
}

function nameOf(node, source) {
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(source);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return '(anonymous)';
}

/** Every function-like node of one file with its length in lines. */
export function measureFile(path, text = readFileSync(path, 'utf8')) {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({
        file: relative(ROOT, path),
        line: first + 1,
        name: nameOf(node, source),
        lines: last - first + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

export function measure(dirs = SOURCE_DIRS) {
  const all = [];
  for (const dir of dirs) {
    for (const path of tsFiles(join(ROOT, dir))) {
      const text = readFileSync(path, 'utf8');
      if (/@generated\b/.test(text.slice(0, 2000))) continue;
      all.push(...measureFile(path, text));
    }
  }
  return all.sort((a, b) => b.lines - a.lines);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const limit = arg('--limit', 120);
  const all = measure();
  const over = all.filter((f) => f.lines > limit);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ limit, functions: all.length, over, longest: all[0] ?? null }, null, 2));
  } else {
    for (const f of all.slice(0, arg('--top', 10))) console.log(`${f.lines}\t${f.file}:${f.line}\t${f.name}`);
    console.log(
      `${all.length} functions; longest ${all[0]?.lines ?? 0} lines; ${over.length} over ${limit} lines`,
    );
  }
  process.exitCode = over.length ? 1 : 0;
}
