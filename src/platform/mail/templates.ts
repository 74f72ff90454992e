/** The words of one mail; `renderMail` lays them out as plain text and as HTML. */
export interface MailContent {
  productName: string
  /** The first line, e.g. "Reset your password". */
  heading: string
  /** Paragraphs before the button. */
  intro: string[]
  /** The one thing the mail asks for: a link with a label. */
  action: { label: string; url: string }
  /** Paragraphs after the button: validity, and what to do if it was not you. */
  outro: string[]
}

export interface RenderedMail {
  text: string
  html: string
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text in HTML element content or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char)
}

/**
 * A plain-text body (what terminals, screen readers and careful users read; the link stands
 * alone on its line so it can be copied) and an HTML body with the same words and a button.
 * Every value is escaped: an email address or name in a mail is data, never markup.
 */
export function renderMail(content: MailContent): RenderedMail {
  const text = [
    content.heading,
    '',
    ...content.intro.flatMap((paragraph) => [paragraph, '']),
    `${content.action.label}:`,
    content.action.url,
    '',
    ...content.outro.flatMap((paragraph) => [paragraph, '']),
    `— ${content.productName}`,
    '',
  ].join('\n')

  const paragraph = (words: string) => `<p style="margin:0 0 16px">${escapeHtml(words)}</p>`
  const url = escapeHtml(content.action.url)
  const html = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(content.heading)}</title></head>
<body style="margin:0;padding:24px;background:#f5f5f5;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;line-height:1.5">
<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:32px">
<h1 style="margin:0 0 24px;font-size:20px">${escapeHtml(content.heading)}</h1>
${content.intro.map(paragraph).join('\n')}
<p style="margin:24px 0"><a href="${url}" style="display:inline-block;padding:12px 20px;background:#1f4fd1;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(content.action.label)}</a></p>
<p style="margin:0 0 16px;font-size:13px;color:#555">Or open this link: <a href="${url}" style="color:#1f4fd1;word-break:break-all">${url}</a></p>
${content.outro.map(paragraph).join('\n')}
<p style="margin:24px 0 0;font-size:13px;color:#555">— ${escapeHtml(content.productName)}</p>
</div>
</body>
</html>
`
  return { text, html }
}

/** A rendered mail with its subject. */
export interface AccountMail extends RenderedMail {
  subject: string
}

/** `1800` → "30 minutes", `86400` → "24 hours", `172800` → "2 days". */
export function describeDuration(seconds: number): string {
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ]
  for (const [size, name] of units) {
    const count = seconds / size
    // 24 hours reads better than 1 day; 48 hours is 2 days.
    if (Number.isInteger(count) && (name !== 'day' || count >= 2)) {
      return `${count} ${name}${count === 1 ? '' : 's'}`
    }
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}
