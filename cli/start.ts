/**
 * `cartographer start` wiring: runs the Slack bot. With Slack credentials in the environment it
 * talks to Slack; without them it first starts the local Slack stand-in (playground/standin) with a
 * generated signing secret and bot token, and points the bot at it through SLACK_API_URL, so
 * `npm start` works on a fresh clone. The bot itself never knows which one it talks to.
 */
import { randomBytes } from 'node:crypto';
import { createBot } from '../bot/app.ts';
import { createLogger } from '../bot/audit.ts';
import { BotConfigError, loadBotConfig } from '../bot/config.ts';
import { type SlackStandin, startSlackStandin } from '../playground/standin/server.ts';

export interface StartedCartographer {
  botPort?: number;
  standin?: SlackStandin;
  stop(): Promise<void>;
}

export async function startCartographer(env: NodeJS.ProcessEnv = process.env): Promise<StartedCartographer> {
  const local = !env.SLACK_BOT_TOKEN && !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN;
  let standin: SlackStandin | undefined;
  const botEnv: NodeJS.ProcessEnv = { ...env };
  // Detections read the user allow-list from CARTOGRAPHER_ALLOWLIST; the bot writes "Mark benign" there.
  botEnv.CARTOGRAPHER_ALLOWLIST ??= '.cartographer/allowlist.yaml';
  process.env.CARTOGRAPHER_ALLOWLIST ??= botEnv.CARTOGRAPHER_ALLOWLIST;
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
  }
  let bot: ReturnType<typeof createBot> | undefined;
  let port: number | undefined;
  try {
    const config = loadBotConfig(botEnv);
    bot = createBot({ config, logger: createLogger(config.logLevel) });
    ({ port } = await bot.start());
  } catch (err) {
    // Leave nothing listening behind, so a failed start exits.
    await bot?.stop();
    await standin?.close();
    throw err;
  }
  if (standin && port !== undefined) {
    standin.setBotUrl(`http://127.0.0.1:${port}/slack/events`);
    process.stdout.write(
      `Cartographer is running against a local Slack stand-in (no SLACK_BOT_TOKEN set).\n` +
        `  Slack stand-in:  ${standin.url}\n` +
        `  Try:             curl -s ${standin.url}/api/command -d '{"text":"help"}'\n` +
        `  Bot endpoint:    http://127.0.0.1:${port}/slack/events\n`,
    );
  }
  const started: StartedCartographer = {
    stop: async () => {
      await bot?.stop();
      await standin?.close();
    },
  };
  if (port !== undefined) started.botPort = port;
  if (standin) started.standin = standin;
  return started;
}

export { BotConfigError };
