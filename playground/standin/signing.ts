/**
 * Slack's request signing (v0): `X-Slack-Signature: v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`
 * keyed with the app's signing secret, and `X-Slack-Request-Timestamp` in seconds.
 */
import { createHmac } from 'node:crypto';

export function slackSignature(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedHeaders(
  signingSecret: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
  contentType = 'application/x-www-form-urlencoded',
) {
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(signingSecret, timestamp, body),
  };
}
