/**
 * The fetch the bot's Slack WebClient uses: every Web API call is counted (cartographer_slack_api_calls_total), every
 * failure by method and Slack error code (cartographer_slack_api_errors_total), and each call is logged at debug for
 * the request it serves (request-context.ts), so a command's posts carry its `reqId`. Tokens are in headers and
 * upload URLs; neither is logged (only the method name).
 */
import type { FetchFunction } from '@slack/web-api';
import type { Logger } from 'pino';
import { metrics } from '../adapters/observability/metrics.ts';
import { currentRequest } from '../adapters/observability/request-context.ts';

/** `chat.postMessage` from `…/api/chat.postMessage`; uploads to a files.getUploadURLExternal URL are `file upload`. */
export function slackMethod(url: string): string {
  const m = /\/api\/([A-Za-z]+(?:\.[A-Za-z]+)+)\/?(?:\?|$)/.exec(url);
  if (m) return m[1]!;
  return /\/upload\//.test(url) ? 'file upload' : 'other';
}

/** Why a Web API answer counts as a failure (Slack's `error`, `http_<status>`), or undefined when it is fine. */
async function failureCode(res: Response): Promise<string | undefined> {
  if (res.status === 429) return 'ratelimited';
  if (!res.ok) return `http_${res.status}`;
  if (!res.headers.get('content-type')?.includes('json')) return undefined;
  const body = (await res
    .clone()
    .json()
    .catch(() => undefined)) as { ok?: boolean; error?: string } | undefined;
  return body?.ok === false ? (body.error ?? 'unknown') : undefined;
}

export function instrumentedSlackFetch(fallbackLogger?: Logger): FetchFunction {
  return async (url, init) => {
    const method = slackMethod(String(url));
    const started = performance.now();
    const logger = currentRequest()?.logger ?? fallbackLogger;
    metrics.slackApiCalls.inc({ method });
    let code: string | undefined;
    let status = 0;
    try {
      const res = await fetch(url, init as RequestInit);
      status = res.status;
      code = await failureCode(res);
      return res;
    } catch (err) {
      code = 'network';
      throw err;
    } finally {
      if (code) metrics.slackApiErrors.inc({ method, code });
      const ms = Math.round(performance.now() - started);
      logger?.debug(
        { slack: { method, status, ms, ...(code ? { error: code } : {}) } },
        `slack ${method}: ${code ?? 'ok'}`,
      );
    }
  };
}
