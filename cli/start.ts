/**
 * `cartographer start` wiring: runs the Slack bot. With Slack credentials in the environment it
 * talks to Slack; without them it first starts the local Slack stand-in (playground/standin) with a
 * generated signing secret and bot token, and points the bot at it through SLACK_API_URL, so
 * `npm start` works on a fresh clone. The bot itself never knows which one it talks to.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '../bot/audit.ts';
import { composeBot } from '../compose/bot.ts';
import { BotConfigError, loadBotConfig } from '../config/bot.ts';
import { loadSettings } from '../config/settings.ts';
import { type PlaygroundSetup, playgroundSetup } from '../playground/replay.ts';
import { type SlackStandin, startSlackStandin } from '../playground/standin/server.ts';

export interface StartedCartographer {
  botPort?: number;
  standin?: SlackStandin;
  stop(): Promise<void>;
}

/**
 * What `npm start` prints without Slack credentials: where to click first, then the shell way in.
 * `url` is the stand-in's base URL (`http://127.0.0.1:3333`).
 */
export function playgroundBanner(url: string): string {
  return [
    '',
    'Cartographer is running with a local Slack stand-in (no Slack credentials set).',
    '',
    `  Open in a browser:  ${url}/   (the playground: a channel, threads and buttons)`,
    `  Or from a shell:    curl -s ${url}/api/command -H 'content-type: application/json' -d '{"text":"help"}'`,
    '',
    '  Start with `/cartographer help` in the playground. Ctrl+C stops everything.',
    '  For a real workspace set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (`cartographer start --help`).',
    '',
    '',
  ].join('\n');
}

/** A log destination that keeps lines until `release()`, then writes them and everything after. */
function heldOutput(target: NodeJS.WritableStream) {
  let held: string[] | undefined = [];
  return {
    write(line: string) {
      if (held) held.push(line);
      else target.write(line);
    },
    release() {
      if (!held) return;
      const lines = held;
      held = undefined;
      for (const line of lines) target.write(line);
    },
  };
}

export async function startCartographer(
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream = process.stdout,
): Promise<StartedCartographer> {
  const local = !env.SLACK_BOT_TOKEN && !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN;
  let standin: SlackStandin | undefined;
  let playground: PlaygroundSetup | undefined;
  // The settings are read from this copy (the playground adds its own); the process environment is left alone.
  const botEnv: NodeJS.ProcessEnv = { ...env };
  if (local) {
    const signingSecret = randomBytes(16).toString('hex');
    const botToken = `xoxb-playground-${randomBytes(12).toString('hex')}`;
    standin = await startSlackStandin({
      signingSecret,
      botToken,
      host: '127.0.0.1',
      port: Number(env.CARTOGRAPHER_PLAYGROUND_PORT ?? 3333),
    });
    Object.assign(botEnv, {
      SLACK_BOT_TOKEN: botToken,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: standin.apiUrl,
      HOST: '127.0.0.1',
    });
    // Alerts in #soc-alerts on a replay clock, a per-run database, the demo account's name.
    playground = await playgroundSetup(botEnv, loadBotConfig(botEnv).localPaths);
    Object.assign(botEnv, playground.env);
  }
  let bot: ReturnType<typeof composeBot> | undefined;
  let port: number | undefined;
  // In playground mode the banner is the first thing a newcomer sees: start-up log lines wait behind it.
  const logs = standin ? heldOutput(out) : undefined;
  let logger: ReturnType<typeof createLogger> | undefined;
  try {
    const settings = loadSettings(botEnv);
    logger = createLogger(settings.bot.logLevel, logs);
    bot = composeBot(settings, {
      logger,
      openAccessExpected: standin !== undefined,
      ...(playground?.clock ? { clock: playground.clock } : {}),
    });
    ({ port } = await bot.start());
  } catch (err) {
    // Leave nothing listening behind, so a failed start exits.
    await bot?.stop();
    await standin?.close();
    playground?.cleanup();
    logs?.release();
    throw err;
  }
  if (standin && port !== undefined) {
    const botUrl = `http://127.0.0.1:${port}/slack/events`;
    standin.setBotUrl(botUrl);
    out.write(playgroundBanner(standin.url));
    logs?.release();
    logger?.info({ standin: standin.url, bot: botUrl }, 'playground: Slack stand-in and bot connected');
    if (playground?.replay)
      logger?.info(
        { ...playground.replay, channel: '#soc-alerts' },
        'playground: alert scans replay the busiest day of the local data',
      );
  }
  const started: StartedCartographer = {
    stop: async () => {
      await bot?.stop();
      await standin?.close();
      playground?.cleanup();
    },
  };
  if (port !== undefined) started.botPort = port;
  if (standin) started.standin = standin;
  return started;
}

export { BotConfigError };
