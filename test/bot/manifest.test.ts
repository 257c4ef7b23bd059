/**
 * manifest.yml installs the app as is: it validates against Slack's manifest schema and satisfies the
 * cross-field rules Slack enforces on upload (not expressible in the schema), and its scopes are exactly
 * the ones the bot's Web API calls need.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const FIXTURE = 'test/fixtures/slack-manifest-schema';
const schema = JSON.parse(readFileSync(join(FIXTURE, 'schemas/manifest.schema.1.0.0.json'), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(schema);

// biome-ignore lint/suspicious/noExplicitAny: manifests are open JSON
type Manifest = Record<string, any>;

/** The rules Slack applies when a manifest is uploaded, beyond the JSON schema. */
function crossFieldProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const socket = m.settings?.socket_mode_enabled === true;
  const bot: string[] = m.oauth_config?.scopes?.bot ?? [];
  const commands: Manifest[] = m.features?.slash_commands ?? [];
  if (!socket) {
    for (const c of commands)
      if (!c.url) problems.push(`slash command ${c.command} needs a url when Socket Mode is off`);
    if (m.settings?.interactivity?.is_enabled && !m.settings.interactivity.request_url) {
      problems.push('interactivity needs a request_url when Socket Mode is off');
    }
    if (m.settings?.event_subscriptions && !m.settings.event_subscriptions.request_url) {
      problems.push('event subscriptions need a request_url when Socket Mode is off');
    }
  }
  if (commands.length > 0 && !bot.includes('commands'))
    problems.push("slash commands need the 'commands' bot scope");
  if (bot.length > 0 && !m.features?.bot_user) problems.push('bot scopes need features.bot_user');
  if (m.features?.bot_user && bot.length === 0) problems.push('a bot user needs at least one bot scope');
  for (const c of commands) {
    if (c.command !== c.command.toLowerCase()) problems.push(`slash command ${c.command} must be lower case`);
  }
  const names = commands.map((c) => c.command);
  if (new Set(names).size !== names.length) problems.push('slash command names must be unique');
  return problems;
}

/** Web API methods the bot calls, read from its sources, and the scope each needs. */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  filesUploadV2: ['files:write'],
  'usergroups.users.list': ['usergroups:read'],
  // public and private channels
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
  'views.open': [],
  // App Home (no scope; the app_home_opened event comes with the Home tab)
  'views.publish': [],
  // the workspace URL, for links to alert and digest messages
  'auth.test': [],
};

function botSources(dir = 'bot'): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

const manifest = parse(readFileSync('manifest.yml', 'utf8')) as Manifest;

describe('manifest.yml', () => {
  it('validates against Slack manifest schema 1.0.0', () => {
    const ok = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the validator accepts the upstream valid example and rejects the invalid one', () => {
    const valid = JSON.parse(readFileSync(join(FIXTURE, 'tests/manifests/v1/manifest.valid.json'), 'utf8'));
    const invalid = JSON.parse(
      readFileSync(join(FIXTURE, 'tests/manifests/v1/manifest.invalid.json'), 'utf8'),
    );
    expect(validate(valid)).toBe(true);
    expect(validate(invalid)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('bad_param');
  });

  it('passes the cross-field rules Slack enforces', () => {
    expect(crossFieldProblems(manifest)).toEqual([]);
  });

  it('the cross-field rules catch what Slack would refuse', () => {
    const broken = structuredClone(manifest);
    delete broken.features.slash_commands[0].url;
    delete broken.settings.interactivity.request_url;
    broken.oauth_config.scopes.bot = ['chat:write'];
    delete broken.features.bot_user;
    expect(crossFieldProblems(broken)).toEqual([
      'slash command /cartographer needs a url when Socket Mode is off',
      'interactivity needs a request_url when Socket Mode is off',
      "slash commands need the 'commands' bot scope",
      'bot scopes need features.bot_user',
    ]);
    broken.settings.socket_mode_enabled = true;
    expect(crossFieldProblems(broken).filter((p) => p.includes('Socket Mode'))).toEqual([]);
  });

  it('has the Home tab on and subscribes to app_home_opened, which the bot handles', () => {
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
    expect(botSources()).toContain("app.event('app_home_opened'");
    expect(new URL(manifest.settings.event_subscriptions.request_url).pathname).toBe('/slack/events');
  });

  it('points Slack at the bot: /cartographer, requests to /slack/events', () => {
    const [command] = manifest.features.slash_commands;
    expect(command.command).toBe('/cartographer');
    expect(botSources()).toContain(`'${command.command}'`);
    expect(new URL(command.url).pathname).toBe('/slack/events');
    expect(new URL(manifest.settings.interactivity.request_url).pathname).toBe('/slack/events');
  });

  it('asks for exactly the scopes the bot uses', () => {
    const source = botSources();
    const needed = new Set<string>(['commands']);
    for (const [method, scopes] of Object.entries(METHOD_SCOPES)) {
      const call = method.includes('.') ? `client.${method}(` : `.${method}(`;
      if (source.includes(call)) for (const scope of scopes) needed.add(scope);
    }
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
    // No Web API call outside the table above (a new call needs its scope checked here).
    const calls = new Set(
      [...source.matchAll(/client\.([a-z]+(?:\.[a-z]+)*\.[a-zA-Z]+)\(/g)].map((m) => m[1]),
    );
    for (const c of calls) expect(Object.keys(METHOD_SCOPES)).toContain(c);
  });
});
