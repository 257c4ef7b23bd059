/**
 * The one error hierarchy: every error Cartographer raises on purpose is a CartographerError with a stable `code`.
 * The CLI maps codes to exit codes (cli/main.ts), the bot to the sentence an analyst reads
 * (bot/lookup/failures.ts); neither tells errors apart by their class name. `name` stays the class's own, for logs.
 */
export const ERROR_CODES = [
  /** Bad arguments (CLI options, a slash command's words): the message and the usage are shown. */
  'usage',
  /** A setting is missing or wrong: the message names the setting to fix. */
  'config',
  /** An input cannot be read (a path, a rule folder). */
  'input',
  /** A CloudTrail source failed (AWS access denied, expired credentials, throttled past retries, …). */
  'source',
  /** Rule files or tables have problems (file:line in the message). */
  'rules',
  /** A rule uses a feature this engine does not support (reported and skipped). */
  'unsupported',
  /** Work took longer than its limit. */
  'timeout',
  /** A button or reference points at something that no longer exists. */
  'stale',
  /** One S3 object of the SQS alert source could not be analysed. */
  'object',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export abstract class CartographerError extends Error {
  abstract readonly code: ErrorCode;
}

/** Bad arguments: the message says what was wrong; `usage` is the usage line to show with it. */
export class UsageError extends CartographerError {
  override readonly name = 'UsageError';
  readonly code = 'usage';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** The code of a CartographerError (also across module copies: read by shape), else undefined. */
export function errorCode(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)
    ? (code as ErrorCode)
    : undefined;
}
