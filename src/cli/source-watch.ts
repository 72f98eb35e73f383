// Notices edits to the engine's sources while `npm run lessons` runs. Every arm runs in its own process,
// which imports the working tree as it is when that process starts, so an edit made during the run (even
// one undone before it ends) would mix two versions in one table, and the commit the results name would
// not say so.
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

export interface SourceWatch {
  /** Files changed since the watch began, as `dir/relative path`. */
  readonly changed: ReadonlySet<string>;
  close(): void;
}

/** Watches each folder recursively; a folder that is missing or cannot be watched is skipped. */
export function watchSources(dirs: readonly string[]): SourceWatch {
  const changed = new Set<string>();
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    try {
      watchers.push(
        watch(dir, { recursive: true }, (_event, file) => {
          if (file) changed.add(join(dir, file.toString()));
        }),
      );
    } catch {
      // Nothing to watch there: the run goes on without the check for that folder.
    }
  }
  return { changed, close: () => watchers.forEach((w) => w.close()) };
}
