import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import css from "highlight.js/lib/languages/css";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import MarkdownItCallable, { type MarkdownIt } from "markdown-it";
import { useMemo } from "react";
import { escapeHtml } from "#app/utils/html";

// Model output as Markdown, safely: raw HTML in the text is shown as text (html: false), links only
// to http(s) and mailto, and code blocks highlighted. The same renderer runs on the server and in the
// browser (streamed text re-renders as it grows).

for (const [name, language] of Object.entries({ bash, css, javascript, json, python, sql, typescript, xml })) {
  hljs.registerLanguage(name, language);
}
hljs.registerAliases(["sh", "shell", "zsh"], { languageName: "bash" });
hljs.registerAliases(["js", "jsx"], { languageName: "javascript" });
hljs.registerAliases(["ts", "tsx"], { languageName: "typescript" });
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["py"], { languageName: "python" });

const markdown: MarkdownIt = new MarkdownItCallable({
  html: false,
  linkify: true,
  breaks: false,
  highlight(code, language) {
    const name = language && hljs.getLanguage(language) ? language : null;
    const body = name ? hljs.highlight(code, { language: name, ignoreIllegals: true }).value : escapeHtml(code);
    return `<pre class="hljs"><code>${body}</code></pre>`;
  },
});

markdown.validateLink = (url: string) => /^(https?:|mailto:)/i.test(url.trim());

// Links open in a new tab without handing the page to the target.
const defaultLinkOpen =
  markdown.renderer.rules.link_open ??
  ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
markdown.renderer.rules.link_open = (tokens, index, options, env, self) => {
  tokens[index]!.attrSet("target", "_blank");
  tokens[index]!.attrSet("rel", "noopener noreferrer nofollow");
  return defaultLinkOpen(tokens, index, options, env, self);
};

export function renderMarkdown(text: string): string {
  return markdown.render(text);
}

export function Markdown({ text, className = "" }: { text: string; className?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  // Safe: html:false escapes every tag in the model's text; only markdown-it's own markup is produced.
  return <div className={`markdown ${className}`} dangerouslySetInnerHTML={{ __html: html }} />;
}
