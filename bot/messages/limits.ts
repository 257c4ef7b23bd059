/**
 * The one checker for Slack's message limits. Every builder in bot/messages is run through it in
 * tests, and the poster runs it before sending so a violation becomes a clear log line instead of
 * Slack's terse `invalid_blocks`.
 *
 * Limits (Slack Block Kit reference): 50 blocks per message, 3,000 characters per section text,
 * 10 section fields of 2,000, 150 per header, 75 per button text, 2,000 per button value,
 * 255 per action_id / block_id, 25 elements per actions block, 10 per context block; select menus:
 * a placeholder of 150, at most 100 options of 75 characters with values of 150; a modal or Home
 * tab holds 100 blocks. Slack
 * truncates messages past roughly 40,000 characters and becomes unreadable long before; we keep a
 * hard cap of 12,000 characters of text per message and builders split at about 8,000.
 */
import type {
  ActionsBlock,
  ActionsBlockElement,
  ContextBlock,
  HomeView,
  InputBlock,
  KnownBlock,
  ModalView,
  MrkdwnElement,
  PlainTextElement,
  SectionBlock,
  SectionBlockAccessory,
  StaticSelect,
  UsersSelect,
} from '@slack/types';

export const LIMITS = {
  blocksPerMessage: 50,
  blocksPerModal: 100,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  actionsElements: 25,
  contextElements: 10,
  contextElementText: 2000,
  fallbackText: 4000,
  messageTextHard: 12000,
  messageTextSplit: 8000,
  modalTitle: 24,
  inputLabel: 2000,
  placeholder: 150,
  selectOptions: 100,
  optionText: 75,
  optionValue: 150,
} as const;

/** Block Kit as @slack/types describes it: the blocks and text objects the bot builds. */
export type Block = KnownBlock;
export type TextObject = PlainTextElement | MrkdwnElement;
/** The views the bot builds: Home tab and modals whose blocks are all known block types. */
export type BotHomeView = HomeView & { blocks: Block[] };
export type BotModalView = ModalView & { blocks: Block[] };
/** An interactive element in an actions block or a section's accessory. */
type Element = ActionsBlockElement | SectionBlockAccessory;

export interface SlackMessage {
  /** Plain-text fallback for notifications and screen readers; always set. */
  text: string;
  blocks?: Block[];
}

export interface LimitViolation {
  path: string;
  message: string;
}

/** Returns every limit the message breaks (empty = fine). */
export function checkMessage(message: SlackMessage): LimitViolation[] {
  const v: LimitViolation[] = [];
  if (typeof message.text !== 'string' || message.text.trim() === '') {
    v.push({ path: 'text', message: 'plain-text fallback `text` is missing' });
  } else if (message.text.length > LIMITS.fallbackText) {
    v.push({
      path: 'text',
      message: `fallback text has ${message.text.length} chars (max ${LIMITS.fallbackText})`,
    });
  }
  const blocks = message.blocks ?? [];
  if (blocks.length > LIMITS.blocksPerMessage) {
    v.push({ path: 'blocks', message: `${blocks.length} blocks (max ${LIMITS.blocksPerMessage})` });
  }
  blocks.forEach((b, i) => {
    checkBlock(b, `blocks[${i}]`, v);
  });
  const total = messageTextLength(message);
  if (total > LIMITS.messageTextHard) {
    v.push({ path: 'message', message: `${total} chars of text (max ${LIMITS.messageTextHard})` });
  }
  return v;
}

/** Checks a modal view (views.open): title, block count and the same per-block limits. */
export function checkModal(view: BotModalView): LimitViolation[] {
  const v: LimitViolation[] = [];
  const title: unknown = view.title?.text;
  if (typeof title !== 'string' || title.length === 0 || title.length > LIMITS.modalTitle) {
    v.push({ path: 'view.title', message: `modal title must be 1-${LIMITS.modalTitle} chars` });
  }
  checkViewBlocks(view, v);
  return v;
}

/** Checks a Home tab view (views.publish): at most 100 blocks, the same per-block limits. */
export function checkView(view: BotHomeView | BotModalView): LimitViolation[] {
  if (view.type === 'modal') return checkModal(view);
  const v: LimitViolation[] = [];
  const type: string = view.type;
  if (type !== 'home') v.push({ path: 'view.type', message: `view type '${type}' is not home or modal` });
  checkViewBlocks(view, v);
  return v;
}

function checkViewBlocks(view: BotHomeView | BotModalView, v: LimitViolation[]): void {
  const blocks: Block[] = view.blocks ?? [];
  if (blocks.length > LIMITS.blocksPerModal) {
    v.push({ path: 'view.blocks', message: `${blocks.length} blocks (max ${LIMITS.blocksPerModal})` });
  }
  blocks.forEach((b, i) => {
    checkBlock(b, `view.blocks[${i}]`, v);
  });
}

/** Throws with every violation listed; used by the poster as the last line of defence. */
export function assertWithinLimits(message: SlackMessage, what: string): void {
  const v = checkMessage(message);
  if (v.length > 0) {
    throw new Error(`${what} breaks Slack limits: ${v.map((x) => `${x.path}: ${x.message}`).join('; ')}`);
  }
}

/** Characters of visible text in a message (fallback + every text object). */
export function messageTextLength(message: SlackMessage): number {
  let n = message.text?.length ?? 0;
  for (const b of message.blocks ?? []) n += blockTextLength(b);
  return n;
}

export function blockTextLength(block: Block): number {
  let n = 0;
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) visit(y);
    } else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if ((o.type === 'plain_text' || o.type === 'mrkdwn') && typeof o.text === 'string') n += o.text.length;
      else for (const [k, y] of Object.entries(o)) if (k !== 'value' && k !== 'url') visit(y);
    }
  };
  visit(block);
  return n;
}

function checkText(t: unknown, path: string, max: number, v: LimitViolation[]): void {
  if (!t || typeof t !== 'object') {
    v.push({ path, message: 'text object missing' });
    return;
  }
  const text = (t as TextObject).text;
  if (typeof text !== 'string' || text.length === 0) v.push({ path, message: 'empty text' });
  else if (text.length > max) v.push({ path, message: `${text.length} chars (max ${max})` });
}

function checkId(id: unknown, path: string, max: number, v: LimitViolation[]): void {
  if (id !== undefined && (typeof id !== 'string' || id.length > max)) {
    v.push({ path, message: `id longer than ${max} chars` });
  }
}

function checkBlock(b: Block, path: string, v: LimitViolation[]): void {
  checkId(b.block_id, `${path}.block_id`, LIMITS.blockId, v);
  switch (b.type) {
    case 'header':
      checkText(b.text, `${path}.text`, LIMITS.headerText, v);
      if (b.text?.type !== 'plain_text')
        v.push({ path: `${path}.text`, message: 'header text must be plain_text' });
      break;
    case 'section':
      checkSection(b, path, v);
      break;
    case 'actions':
      checkElements(b, path, LIMITS.actionsElements, v, (e, at) => checkElement(e, at, v));
      break;
    case 'context':
      checkElements(b, path, LIMITS.contextElements, v, (e, at) => {
        if (e.type === 'plain_text' || e.type === 'mrkdwn') checkText(e, at, LIMITS.contextElementText, v);
      });
      break;
    case 'input':
      checkInput(b, path, v);
      break;
    case 'divider':
      break;
    default:
      v.push({ path, message: `block type '${String(b.type)}' is not checked by the bot's limit checker` });
  }
}

function checkSection(b: SectionBlock, path: string, v: LimitViolation[]): void {
  if (!b.text && !b.fields) v.push({ path, message: 'section needs text or fields' });
  if (b.text) checkText(b.text, `${path}.text`, LIMITS.sectionText, v);
  if (b.fields) {
    if (b.fields.length > LIMITS.sectionFields) {
      v.push({ path: `${path}.fields`, message: `${b.fields.length} fields (max ${LIMITS.sectionFields})` });
    }
    b.fields.forEach((f, i) => {
      checkText(f, `${path}.fields[${i}]`, LIMITS.sectionFieldText, v);
    });
  }
  if (b.accessory) checkElement(b.accessory, `${path}.accessory`, v);
}

/** An actions or context block: 1 to `max` elements, each checked by `each`. */
function checkElements<B extends ActionsBlock | ContextBlock>(
  b: B,
  path: string,
  max: number,
  v: LimitViolation[],
  each: (e: B['elements'][number], path: string) => void,
): void {
  const elements: unknown = b.elements;
  if (!Array.isArray(elements) || elements.length === 0) {
    v.push({ path, message: `${b.type} block without elements` });
    return;
  }
  if (elements.length > max) v.push({ path, message: `${elements.length} elements (max ${max})` });
  b.elements.forEach((e, i) => {
    each(e, `${path}.elements[${i}]`);
  });
}

function checkInput(b: InputBlock, path: string, v: LimitViolation[]): void {
  checkText(b.label, `${path}.label`, LIMITS.inputLabel, v);
  if (b.element) checkId(b.element.action_id, `${path}.element.action_id`, LIMITS.actionId, v);
}

function checkElement(e: Element, path: string, v: LimitViolation[]): void {
  if ('action_id' in e) checkId(e.action_id, `${path}.action_id`, LIMITS.actionId, v);
  if (e.type === 'static_select' || e.type === 'users_select') checkSelect(e, path, v);
  if (e.type === 'button') {
    checkText(e.text, `${path}.text`, LIMITS.buttonText, v);
    if (e.text?.type !== 'plain_text')
      v.push({ path: `${path}.text`, message: 'button text must be plain_text' });
    const value: unknown = e.value;
    if (value !== undefined && (typeof value !== 'string' || value.length > LIMITS.buttonValue)) {
      v.push({ path: `${path}.value`, message: `button value longer than ${LIMITS.buttonValue} chars` });
    }
  }
}

function checkSelect(e: StaticSelect | UsersSelect, path: string, v: LimitViolation[]): void {
  if (e.placeholder) checkText(e.placeholder, `${path}.placeholder`, LIMITS.placeholder, v);
  if (e.type !== 'static_select') return;
  const options = e.options ?? [];
  if (options.length === 0 || options.length > LIMITS.selectOptions) {
    v.push({ path: `${path}.options`, message: `${options.length} options (1-${LIMITS.selectOptions})` });
  }
  options.forEach((o, i) => {
    checkText(o.text, `${path}.options[${i}].text`, LIMITS.optionText, v);
    const value: unknown = o.value;
    if (typeof value !== 'string' || value.length === 0 || value.length > LIMITS.optionValue) {
      v.push({
        path: `${path}.options[${i}].value`,
        message: `option value must be 1-${LIMITS.optionValue} chars`,
      });
    }
  });
}
