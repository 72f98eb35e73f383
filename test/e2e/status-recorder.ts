// Records [page time, text] of every change of the app's status line, from before the app starts, so
// no update is missed however fast they come. Install with page.addInitScript(STATUS_RECORDER) — a
// string, not a function: tsx and Vitest rewrite functions with helpers the page does not have.
import type { Page } from 'playwright-core';

export const STATUS_RECORDER = `
  window.__statusLog = [];
  (function attach() {
    const line = document.getElementById('status-line');
    if (!line) return void setTimeout(attach, 5);
    const record = () => window.__statusLog.push([performance.now(), line.textContent || '']);
    record();
    new MutationObserver(record).observe(line, { childList: true, characterData: true, subtree: true });
  })();
`;

/** Every status text recorded so far, with its page time in ms. */
export async function statusLog(page: Page): Promise<[number, string][]> {
  return (await page.evaluate('window.__statusLog || []')) as [number, string][];
}
