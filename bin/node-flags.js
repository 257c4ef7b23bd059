/**
 * V8's young generation (new space) for Cartographer's processes. Up to Node 22 a semi-space grows to 16 MB at
 * most; Node 24's V8 scales it with the machine's memory (64 MB semi-spaces on a 24 GiB machine), which measured
 * +125 MB peak resident memory for `summarize` over test/ingest-hostile's folder (330 MB against 206 MB on Node 20;
 * 212 MB on Node 24 with the cap). Entry points pass the cap (`npm start`, the Docker image's CMD); a process
 * started without it re-executes itself with it (process.execve, same process id, on Node ≥ 22.15).
 */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=16';

/** The flag to add when this process runs without it on a Node that needs it, else undefined. */
export function youngGenerationFlag(
  execArgv = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
  major = Number(process.versions.node.split('.')[0]),
) {
  if (major < 24 || typeof process.execve !== 'function') return undefined;
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => a.startsWith('--max-semi-space-size'));
  return given ? undefined : YOUNG_GENERATION_FLAG;
}
