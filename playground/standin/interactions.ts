/**
 * What Slack sends an app when someone uses an element of a message (button, users_select,
 * static_select) or opens the app's Home tab, shaped as Slack shapes it. Pure: the stand-in's server
 * adds the envelope (user, channel, trigger, response_url) and signs the request.
 */

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as received
type Json = any;

/** The interactive element with `actionId` (a button also by `value`), and the block it sits in. */
export function findElement(
  blocks: Json[] | undefined,
  actionId: string,
  value?: string,
): { element: Json; blockId: string } | undefined {
  for (const block of blocks ?? []) {
    const elements = block.type === 'actions' ? block.elements : block.accessory ? [block.accessory] : [];
    for (const e of elements ?? []) {
      if (e.action_id !== actionId) continue;
      if (e.type === 'button' && value !== undefined && e.value !== value) continue;
      return { element: e, blockId: block.block_id ?? 'standin-block' };
    }
  }
  return undefined;
}

/**
 * The `actions[0]` of a block_actions payload: a button's value, a users_select's `selected_user`,
 * a static_select's `selected_option` (one of its options, by value). Throws when a selection is
 * not one the element offers.
 */
export function actionPayload(element: Json, blockId: string, selected: string | undefined): Json {
  const base = {
    action_id: element.action_id,
    block_id: blockId,
    type: element.type,
    action_ts: String(Date.now() / 1000),
  };
  switch (element.type) {
    case 'button':
      return { ...base, text: element.text, value: element.value };
    case 'users_select':
      if (!selected) throw new Error(`users_select ${element.action_id} needs the user picked`);
      return {
        ...base,
        selected_user: selected,
        ...(element.placeholder ? { placeholder: element.placeholder } : {}),
      };
    case 'static_select': {
      const options: Json[] =
        element.options ?? (element.option_groups ?? []).flatMap((g: Json) => g.options);
      const option = options.find((o) => o.value === selected);
      if (!option) throw new Error(`static_select ${element.action_id} has no option '${selected}'`);
      return {
        ...base,
        selected_option: option,
        ...(element.placeholder ? { placeholder: element.placeholder } : {}),
      };
    }
    default:
      throw new Error(`the stand-in does not deliver ${element.type} actions`);
  }
}

/** An Events API callback for `app_home_opened` (the Home tab), as Slack posts it (JSON). */
export function homeOpenedEvent(team: { id: string }, appId: string, user: string, view?: Json): Json {
  const now = Date.now() / 1000;
  return {
    token: 'standin-verification-token',
    team_id: team.id,
    api_app_id: appId,
    type: 'event_callback',
    event_id: `Ev${Math.floor(now * 1000)
      .toString(36)
      .toUpperCase()}`,
    event_time: Math.floor(now),
    event: {
      type: 'app_home_opened',
      user,
      channel: `D0${user.slice(1)}`,
      tab: 'home',
      event_ts: now.toFixed(6),
      ...(view ? { view } : {}),
    },
  };
}
