// The address bar and the experiment (src/app/url-sync.ts), on a fake address bar: which writes replace
// and which push a history entry, and that a hash from outside is never overwritten before it is applied.
import { describe, expect, it } from 'vitest';
import { HashSync, type AddressBar } from '../src/app/url-sync';

/** An address bar with a history list, like the browser's: push adds an entry, replace swaps the current. */
function fakeBar(initial: string) {
  const entries = [initial];
  let index = 0;
  const listeners: (() => void)[] = [];
  const bar: AddressBar & { entries: string[]; navigate(hash: string): void; back(): void } = {
    entries,
    get hash() {
      return entries[index];
    },
    replace: (hash) => {
      entries[index] = hash;
    },
    push: (hash) => {
      entries.splice(index + 1, entries.length, hash);
      index++;
    },
    onHashChange(listener) {
      listeners.push(listener);
      return () => listeners.splice(listeners.indexOf(listener), 1);
    },
    // What the user does: a new entry (pasting a link) or Back; both fire hashchange.
    navigate(hash) {
      entries.splice(index + 1, entries.length, hash);
      index++;
      for (const l of listeners) l();
    },
    back() {
      index--;
      for (const l of listeners) l();
    },
  };
  return bar;
}

describe('HashSync', () => {
  it('replaces the entry for a change within the run and pushes one for a new run', () => {
    const bar = fakeBar('#v=2');
    const sync = new HashSync(bar, () => {});
    sync.write('#v=2&beta=0.1'); // live: the same run
    expect(bar.entries).toEqual(['#v=2&beta=0.1']);
    sync.write('#v=2&task=sort&beta=0.1'); // structural: a new run
    expect(bar.entries).toEqual(['#v=2&beta=0.1', '#v=2&task=sort&beta=0.1']);
    sync.write('#v=2&task=sort&beta=0.1&title=Sorting'); // a title: the same run
    expect(bar.entries).toEqual(['#v=2&beta=0.1', '#v=2&task=sort&beta=0.1&title=Sorting']);
    sync.dispose();
  });

  it('hands a pasted link to the app and writes nothing over it until the app has applied it', () => {
    const bar = fakeBar('#v=2');
    const seen: string[] = [];
    const sync = new HashSync(bar, (hash) => seen.push(hash));
    bar.navigate('#v=2&task=sort&autoplay=1');
    expect(seen).toEqual(['#v=2&task=sort&autoplay=1']);
    // The app's own link, computed before it applied the new one, must not replace the pasted link.
    sync.write('#v=2&beta=0.3');
    expect(bar.hash).toBe('#v=2&task=sort&autoplay=1');
    // Once applied, the app writes its canonical form over it (the same experiment: no new entry).
    sync.applied('#v=2&task=sort&autoplay=1');
    sync.write('#v=2&task=sort');
    expect(bar.entries).toEqual(['#v=2', '#v=2&task=sort']);
    sync.dispose();
  });

  it('Back returns to the experiment before a new run, and the app is told', () => {
    const bar = fakeBar('#v=2');
    const seen: string[] = [];
    const sync = new HashSync(bar, (hash) => {
      seen.push(hash);
      sync.applied(hash);
    });
    sync.write('#v=2&algorithm=reinforce');
    bar.back();
    expect(seen).toEqual(['#v=2']);
    expect(bar.hash).toBe('#v=2');
    // Its own writes never come back to the app as links.
    sync.write('#v=2&beta=0.2');
    expect(seen).toEqual(['#v=2']);
    sync.dispose();
  });
});
