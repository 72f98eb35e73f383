// The URL follows the experiment: every settled change of a knob rewrites the hash (replaceState, so the
// back button is not flooded), keeping the page's query (?backend=...) as it is.
import type { Config } from '../engine/config';
import { encodeLink } from '../share/link';

const DEBOUNCE_MS = 300;
let timer: ReturnType<typeof setTimeout> | undefined;

export function linkFor(config: Config, extras: { hide: string[]; title: string }): string {
  return encodeLink(config, { hide: extras.hide, title: extras.title || undefined });
}

export function scheduleHashUpdate(config: Config, extras: { hide: string[]; title: string }): void {
  clearTimeout(timer);
  timer = setTimeout(() => {
    const hash = linkFor(config, extras);
    if (hash !== location.hash)
      history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`);
  }, DEBOUNCE_MS);
}
