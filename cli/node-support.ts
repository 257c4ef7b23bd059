/**
 * Which Node.js releases Cartographer supports: the ones CI runs the whole suite on (`.ci/run`), as `engines` in
 * package.json says. Others still start, with one line saying so.
 */
export const SUPPORTED_NODE_MAJORS = [22, 24] as const;

/** The start-up notice for an unsupported Node.js, or undefined on a supported one. */
export function nodeSupportNotice(version: string = process.version): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if ((SUPPORTED_NODE_MAJORS as readonly number[]).includes(major)) return undefined;
  const supported = SUPPORTED_NODE_MAJORS.join(' or ');
  if (major < SUPPORTED_NODE_MAJORS[0]) {
    return `cartographer: Node.js ${version} is not supported (Node 20 reached its end of life on 2026-04-30, and the AWS SDK drops it in January 2027); it still runs for now: use Node ${supported}.`;
  }
  return `cartographer: Node.js ${version} is not tested; supported are Node ${supported}.`;
}
