// The URL follows the experiment: every settled change of a knob rewrites the hash (replaceState, so the
// back button is not flooded), keeping the page's query (?backend=...) as it is.
const DEBOUNCE_MS = 300;
let timer: ReturnType<typeof setTimeout> | undefined;

/** Writes `link` (the experiment's `#v=...` hash) to the address bar once it has not changed for a moment. */
export function scheduleHashUpdate(link: string): void {
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (link !== location.hash)
      history.replaceState(history.state, '', `${location.pathname}${location.search}${link}`);
  }, DEBOUNCE_MS);
}
