/**
 * The playground's mrkdwn renderer (playground/web/blockkit.js) on the formatting Slack documents:
 * the expected HTML is written by hand from Slack's rules, and every case that carries bot or user
 * text checks that nothing becomes markup it should not.
 */
import { describe, expect, it } from 'vitest';
import { escapeHtml, mrkdwn, setNameResolvers, textObject } from '../../playground/web/blockkit.js';

describe('mrkdwn', () => {
  it('formats bold, italic, strike and inline code', () => {
    expect(mrkdwn('*bold* _italic_ ~gone~ `code`')).toBe(
      '<b>bold</b> <i>italic</i> <s>gone</s> <code>code</code>',
    );
  });

  it('keeps bold around inline code, as the timeline lines use it', () => {
    expect(mrkdwn('*`iam:GetUser` ×81* — called')).toBe('<b><code>iam:GetUser</code> ×81</b> — called');
  });

  it('leaves markup characters inside code alone', () => {
    expect(mrkdwn('`*not bold* <https://x.test>`')).toBe('<code>*not bold* &lt;https://x.test&gt;</code>');
  });

  it('turns newlines into line breaks and ``` into a code block', () => {
    expect(mrkdwn('a\nb')).toBe('a<br>b');
    expect(mrkdwn('see\n```\n{"a": 1}\n```')).toBe('see<br><pre class="code">{&quot;a&quot;: 1}</pre>');
  });

  it('renders block quotes', () => {
    expect(mrkdwn('&gt; quoted\nafter')).toBe('<blockquote>quoted</blockquote>after');
  });

  it('links only to http(s) and mailto targets', () => {
    expect(mrkdwn('<https://console.aws.amazon.com/iam/?a=1&amp;b=2|IAM *console*>')).toBe(
      '<a href="https://console.aws.amazon.com/iam/?a=1&amp;b=2" target="_blank" rel="noopener">IAM <b>console</b></a>',
    );
    expect(mrkdwn('<javascript:alert(1)|click>')).toBe(
      '<a href="#" target="_blank" rel="noopener">click</a>',
    );
  });

  it('never lets text become HTML', () => {
    const hostile = 'x <img src=x onerror=alert(1)> "quoted" \'single\' &lt;b&gt;';
    const html = mrkdwn(hostile);
    expect(html).not.toMatch(/<img|<b>/);
    expect(html).toContain('&quot;quoted&quot;');
    expect(textObject({ type: 'plain_text', text: '<script>' })).toBe('&lt;script&gt;');
    expect(escapeHtml('<&>"\'')).toBe('&lt;&amp;&gt;&quot;&#39;');
  });

  it('names users and channels in mentions, and shows special mentions by their label', () => {
    setNameResolvers({ user: (id) => (id === 'U0ANALYST1' ? 'alice' : id), channel: () => 'soc-triage' });
    expect(mrkdwn('asked by <@U0ANALYST1> in <#C0SOCTRIAGE>')).toBe(
      'asked by <span class="mention">@alice</span> in <span class="mention">#soc-triage</span>',
    );
    expect(mrkdwn('<!here> <!subteam^S0SOCTEAM|@soc-team>')).toBe(
      '<span class="mention">@here</span> <span class="mention">@soc-team</span>',
    );
  });

  it('shows the emoji the bot uses and leaves unknown codes as typed', () => {
    expect(mrkdwn(':mag: :no_such_emoji:')).toBe('🔍 :no_such_emoji:');
  });
});
