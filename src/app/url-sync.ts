// The address bar and the experiment, both ways.
//  - Out: every settled change rewrites the hash. A change within the same run (a live knob, a title)
//    replaces the history entry; a new run (a structural setting) adds one, so Back returns to the
//    experiment before it. The page's query (?backend=...) stays as it is.
//  - In: a hash the app did not write (a pasted link, a link clicked in the page, Back/Forward) is handed
//    to `onLink`, which applies it like a fresh load.
// The app never overwrites a hash it has not applied: a write waits while the address holds a hash
// that came from outside, and that hash's `hashchange` wins.
import { FIELDS, type Config } from '../engine/config';
import { decodeLink } from '../share/link';

const DEBOUNCE_MS = 300;

/** True when going from `a` to `b` changes a setting that needs a new run (task, model, algorithm…). */
export function changesStructure(a: Config, b: Config): boolean {
  return FIELDS.some((field) => !field.live && a[field.key] !== b[field.key]);
}

/** Where the address bar is written and read; `window` in the app, a fake in tests. */
export interface AddressBar {
  readonly hash: string;
  replace(hash: string): void;
  push(hash: string): void;
  onHashChange(listener: () => void): () => void;
}

export const browserAddressBar = (): AddressBar => ({
  get hash() {
    return location.hash;
  },
  replace: (hash) => history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`),
  push: (hash) => history.pushState(null, '', `${location.pathname}${location.search}${hash}`),
  onHashChange(listener) {
    window.addEventListener('hashchange', listener);
    return () => window.removeEventListener('hashchange', listener);
  },
});

export class HashSync {
  /** The hash the app last applied or wrote: what the address bar holds when nobody else changed it. */
  private known: string;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly stop: () => void;

  constructor(
    private readonly bar: AddressBar,
    /** A hash from outside; the app applies it, then calls `applied`. */
    onLink: (hash: string) => void,
  ) {
    this.known = bar.hash;
    this.stop = bar.onHashChange(() => {
      if (bar.hash === this.known) return;
      // Whatever the app was about to write is older than this link.
      clearTimeout(this.timer);
      onLink(bar.hash);
    });
  }

  /** The app has applied `hash` (at start, or from `onLink`): the address bar holds an applied experiment. */
  applied(hash: string): void {
    this.known = hash;
  }

  /** Writes `link` once it has been stable for a moment: a new history entry when it starts a new run. */
  schedule(link: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.write(link), DEBOUNCE_MS);
  }

  /** The write itself (tests call it directly instead of waiting for the debounce). */
  write(link: string): void {
    const current = this.bar.hash;
    // A hash from outside that the app has not applied yet: leave it for its hashchange.
    if (current !== this.known || link === current) return;
    const structural = changesStructure(decodeLink(current).config, decodeLink(link).config);
    if (structural) this.bar.push(link);
    else this.bar.replace(link);
    this.known = link;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.stop();
  }
}
