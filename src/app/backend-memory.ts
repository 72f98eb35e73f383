// What `auto` measured, remembered in localStorage per device and model shape, so a reload or a reset
// of the same shape starts at once on the backend measured fastest. The worker has no localStorage: the
// app sends these entries with each reset and restore and stores what the worker measured.
import { isMemoryEntry, type BackendMemoryEntry } from '../worker/backend-measure';

export const MEMORY_KEY = 'token-rl-playground:backend-choices';
/** Oldest entries go first beyond this: a few shapes on a device or two is all a student uses. */
export const MAX_ENTRIES = 24;

export type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

/** localStorage, or undefined where reading it throws (storage disabled, some private modes). */
function browserStorage(): StorageLike | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}

export class BackendMemory {
  constructor(private readonly storage: StorageLike | undefined = browserStorage()) {}

  /** Every valid remembered entry, oldest first (anything unreadable is ignored, never thrown). */
  entries(): BackendMemoryEntry[] {
    try {
      const parsed: unknown = JSON.parse(this.storage?.getItem(MEMORY_KEY) ?? '[]');
      return Array.isArray(parsed) ? parsed.filter(isMemoryEntry) : [];
    } catch {
      return [];
    }
  }

  /** Remembers a measurement, replacing the one of the same device and shape. */
  remember(entry: BackendMemoryEntry): void {
    const others = this.entries().filter((e) => e.device !== entry.device || e.shape !== entry.shape);
    this.write([...others, entry].slice(-MAX_ENTRIES));
  }

  /** Forgets every device's choice for a shape: the next `auto` run of it measures again. */
  forgetShape(shape: string): void {
    this.write(this.entries().filter((e) => e.shape !== shape));
  }

  private write(entries: BackendMemoryEntry[]): void {
    try {
      this.storage?.setItem(MEMORY_KEY, JSON.stringify(entries));
    } catch {
      // Storage full or disabled: auto measures again next time, nothing worse.
    }
  }
}
