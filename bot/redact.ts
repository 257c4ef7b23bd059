/** The bot's posts and logs use the one redactor (engine/redact.ts). */
export { REDACTED, redact, redactText } from '../engine/redact.ts';
